"""Disclaimers and consent texts at import: versioned per key (or version) and locale; old
versions are kept, never changed."""

from sqlmodel import Session, col, select

from core.errors import ContentError
from db.lead_models import ConsentText, LegalDocument
from db.models import Disclaimer
from schemas.vocabulary import ChangeType
from services.content import changes
from services.content.files import ConsentFile, DisclaimerFile, LegalFile
from services.content.report import ImportReport


def sync_disclaimers(session: Session, files: list[DisclaimerFile], report: ImportReport) -> None:
    """Versions per key and locale: each locale's text changes on its own."""
    rows = list(session.exec(select(Disclaimer).order_by(col(Disclaimer.version))))
    latest: dict[tuple[str, str], Disclaimer] = {(row.key, row.locale): row for row in rows}
    wanted = {(f.key, f.locale) for f in files}
    for f in files:
        current = latest.get((f.key, f.locale))
        same = current is not None and (
            current.title,
            current.text,
            current.placement,
            current.applies_to,
            current.rule_slugs,
        ) == (f.title, f.text, f.placement, f.applies_to, f.slugs)
        if same and current is not None:
            if not current.active:
                current.active = True
                report.disclaimer_versions.append(
                    f"{_named(f.key, f.locale)} v{current.version} reactivated"
                )
                changes.record(session=session, type=ChangeType.DISCLAIMER_CHANGED, slug=f.key)
            continue
        for row in rows:
            if (row.key, row.locale) == (f.key, f.locale):
                row.active = False
        version = (current.version + 1) if current else 1
        session.add(
            Disclaimer(
                key=f.key,
                locale=f.locale,
                version=version,
                title=f.title,
                text=f.text,
                placement=f.placement,
                applies_to=f.applies_to,
                rule_slugs=list(f.slugs),
                active=True,
            )
        )
        report.disclaimer_versions.append(f"{_named(f.key, f.locale)} v{version}")
        changes.record(session=session, type=ChangeType.DISCLAIMER_CHANGED, slug=f.key)
    for row in rows:
        if (row.key, row.locale) not in wanted and row.active:
            row.active = False
            report.disclaimer_versions.append(
                f"{_named(row.key, row.locale)} v{row.version} retired"
            )
            # Retired in every locale: the key is gone from the public list.
            if not any(key == row.key for key, _ in wanted):
                changes.record(session=session, type=ChangeType.DISCLAIMER_RETIRED, slug=row.key)
            else:
                changes.record(session=session, type=ChangeType.DISCLAIMER_CHANGED, slug=row.key)
    session.flush()


def _named(key: str, locale: str) -> str:
    """A disclaimer in a report: `crisis-resources` (en, as before) or `crisis-resources (es)`."""
    return key if locale == "en" else f"{key} ({locale})"


def sync_consent_texts(session: Session, files: list[ConsentFile], report: ImportReport) -> None:
    """Add new consent versions; the last of each locale in the file is that locale's current
    one. Old versions never change."""
    existing = {(row.version, row.locale): row for row in session.exec(select(ConsentText))}
    for f in files:
        row = existing.get((f.version, f.locale))
        if row is None:
            row = ConsentText(
                version=f.version,
                locale=f.locale,
                text=f.text,
                sms_text=f.sms_text,
                age_text=f.age_text,
                emergency_notice=f.emergency_notice,
            )
            session.add(row)
            existing[(f.version, f.locale)] = row
            report.consent_versions.append(_named(f.version, f.locale))
        elif (row.text, row.sms_text, row.age_text, row.emergency_notice) != (
            f.text,
            f.sms_text,
            f.age_text,
            f.emergency_notice,
        ):
            raise ContentError(
                [f"consent.yaml: {f.version}.text: leads refer to this version; add a new one"]
            )
    current = {(f.version, f.locale) for f in {f.locale: f for f in files}.values()}
    for version_locale, row in existing.items():
        if row.current != (version_locale in current):
            row.current = version_locale in current
            report.taxonomy_changes += 1
    session.flush()


def sync_legal_documents(session: Session, files: list[LegalFile], report: ImportReport) -> None:
    """New words (or a new effective date) make a new version of a legal text in its locale;
    old versions are kept. A text no longer in the folder stops being current."""
    rows = list(session.exec(select(LegalDocument).order_by(col(LegalDocument.version))))
    latest = {(row.key, row.locale): row for row in rows}
    for f in files:
        row = latest.get((f.key, f.locale))
        if row is not None and (row.title, row.effective, row.markdown) == (
            f.title,
            f.effective,
            f.markdown,
        ):
            continue
        latest[(f.key, f.locale)] = new = LegalDocument(
            key=f.key,
            locale=f.locale,
            version=(row.version + 1) if row else 1,
            title=f.title,
            effective=f.effective,
            markdown=f.markdown,
        )
        session.add(new)
        rows.append(new)
        report.legal_versions.append(f"{_named(f.key, f.locale)} v{new.version}")
    wanted = {(f.key, f.locale) for f in files}
    for row in rows:
        now_current = (row.key, row.locale) in wanted and latest[(row.key, row.locale)] is row
        if row.current != now_current:
            named = f"{_named(row.key, row.locale)} v{row.version}"
            if (row.key, row.locale) not in wanted:
                report.legal_versions.append(f"{named} retired")
            elif now_current and row.id is not None:  # a stored version, current again
                report.legal_versions.append(f"{named} current again")
            row.current = now_current
    session.flush()
