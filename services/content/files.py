"""Read the content folder into validated models; every problem names its file and field."""

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import frontmatter
import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from schemas.editorial import ArticleContent, Strict
from schemas.reviewers import ReviewerCreate
from schemas.vocabulary import (
    LOCALE_PATTERN,
    ArticleSlug,
    ArticleStatus,
    Placement,
    RegulatoryStatus,
    ReviewRole,
    RuleScope,
    Slug,
)
from services.content.media import SourceImage, read_source

_SECTION_HEADING = re.compile(
    r"^## (?P<heading>.+?)\s*\{#(?P<key>[^\s}]+) kind=(?P<kind>[^\s}]+)\}\s*$"
)


Locale = Annotated[str, StringConstraints(pattern=LOCALE_PATTERN)]


class HeroImageFile(Strict):
    """A hero image as declared in front matter or therapies.yaml: a file in content/media/
    and the words that go with it. Alt text, caption and credit are all required."""

    file: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}\.(?:png|jpe?g|webp)$")
    alt: str = Field(max_length=300)
    caption: str = Field(max_length=500)
    credit: str = Field(max_length=200)

    @model_validator(mode="after")
    def _words_present(self) -> "HeroImageFile":
        if not self.alt:
            raise ValueError("alt must not be blank: describe the image for who cannot see it")
        for name in ("caption", "credit"):
            if not getattr(self, name):
                raise ValueError(f"{name} must not be blank")
        return self


class _TermWords(Strict):
    """A term's words in another locale: all of them, so that no page mixes two languages."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1)


class TherapyWords(_TermWords):
    """A therapy's words in another locale, its regulatory note included."""

    regulatory_note: str = Field(min_length=1)


class ConditionWords(_TermWords):
    """A condition's words in another locale, and the words that show an article in that
    locale discusses it (checked beside the condition's own; stored apart)."""

    keywords: list[str] = Field(default_factory=list, exclude=True)


class TherapyFile(Strict):
    """A therapy as written in therapies.yaml."""

    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1)
    regulatory_status: RegulatoryStatus
    regulatory_note: str = Field(min_length=1)
    # Stored rendered (services.content.media.store), not as written.
    hero_image: HeroImageFile | None = Field(default=None, exclude=True)
    translations: dict[Locale, TherapyWords] = Field(default_factory=dict)


class ConditionFile(Strict):
    """A condition as written in conditions.yaml."""

    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1)
    crisis_risk: bool
    translations: dict[Locale, ConditionWords] = Field(default_factory=dict)
    # Words that show an article discusses the condition (stored apart: `stored_keywords`).
    keywords: list[str] = Field(default_factory=list, exclude=True)

    def stored_keywords(self) -> dict[str, list[str]]:
        """The words as a condition row keeps them: "*" for any locale, then each locale's."""
        words = {"*": self.keywords}
        words.update({loc: w.keywords for loc, w in self.translations.items() if w.keywords})
        return words


class DisclaimerFile(Strict):
    """A disclaimer as written in disclaimers.yaml; its version is assigned on import."""

    key: Slug
    locale: Locale = "en"
    title: str = Field(min_length=1, max_length=200)
    placement: Placement
    applies_to: RuleScope
    slugs: list[str] = Field(default_factory=list)
    text: str = Field(min_length=1)

    @model_validator(mode="after")
    def _rule_is_complete(self) -> "DisclaimerFile":
        if self.applies_to == RuleScope.ALL and self.slugs:
            raise ValueError("slugs must be empty when applies_to is 'all'")
        if self.applies_to != RuleScope.ALL and not self.slugs:
            raise ValueError(f"slugs must list the {self.applies_to} it applies to")
        return self


class ConsentFile(Strict):
    """A consent text version as written in consent.yaml."""

    version: str = Field(pattern=r"^[A-Za-z0-9._-]{1,40}$")
    locale: Locale = "en"
    text: str = Field(min_length=1)
    sms_text: str = Field(min_length=1)
    age_text: str | None = Field(default=None, min_length=1, max_length=300)
    emergency_notice: str | None = Field(default=None, min_length=1, max_length=1000)


class LegalFile(Strict):
    """A legal text in content/legal/ (the privacy notice): front matter and Markdown."""

    key: Slug
    locale: Locale = "en"
    title: str = Field(min_length=1, max_length=200)
    effective: date
    markdown: str = Field(min_length=1, max_length=100_000)


class ReviewerFile(ReviewerCreate):
    """A clinician of the reviewer registry as reviewers.yaml lists them, with their id (what
    approvals name)."""

    id: uuid.UUID


class ApprovalFile(Strict):
    """A reviewer's approval of one article's content, as approvals.yaml records it: bound to
    the content hash (`cli export-content` writes them; an edit of the article makes another
    hash, which this approval does not cover)."""

    article: ArticleSlug
    locale: str = Field(default="en", pattern=LOCALE_PATTERN)
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    reviewer: uuid.UUID
    role: ReviewRole = ReviewRole.MEDICAL
    approved_at: AwareDatetime
    next_review_due: date
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _due_after_approval(self) -> "ApprovalFile":
        if self.next_review_due < self.approved_at.date():
            raise ValueError("next_review_due is before approved_at")
        return self


class ArticleFile(ArticleContent):
    """An article file: its content (front matter plus the sections parsed from the Markdown
    body), what should happen to it (status, publication time), and its hero image. Who
    reviewed it is a record (reviewers.yaml, approvals.yaml, or the API), never front matter."""

    status: ArticleStatus
    published_at: datetime | None = None
    hero_image: HeroImageFile | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_typed_review(cls, data: Any) -> Any:
        if isinstance(data, dict) and "medical_review" in data:
            raise ValueError(
                "medical_review is no longer written in front matter: list the reviewer in "
                "reviewers.yaml and the approval in approvals.yaml (`cli export-content` "
                "writes both), or approve the article over HTTP"
            )
        return data

    def content(self) -> ArticleContent:
        """What the file says, without what should happen to it."""
        return ArticleContent.model_validate(self.model_dump(include=CONTENT_FIELDS))


CONTENT_FIELDS = set(ArticleContent.model_fields)


@dataclass
class ContentBundle:
    """Everything in a content folder, validated."""

    therapies: list[TherapyFile] = field(default_factory=list)
    conditions: list[ConditionFile] = field(default_factory=list)
    disclaimers: list[DisclaimerFile] = field(default_factory=list)
    consent_texts: list[ConsentFile] = field(default_factory=list)
    legal: list[LegalFile] = field(default_factory=list)
    reviewers: list[ReviewerFile] = field(default_factory=list)
    approvals: list[ApprovalFile] = field(default_factory=list)
    articles: dict[str, ArticleFile] = field(default_factory=dict)  # by relative path
    media: dict[str, SourceImage] = field(default_factory=dict)  # checked images, by file name


def _errors(source: str, exc: ValidationError, prefix: str = "") -> list[str]:
    out = []
    for err in exc.errors():
        where = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        out.append(f"{source}: {where or '(file)'}: {err['msg']}")
    return out


def _load_yaml_list(path: Path, problems: list[str]) -> list[Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path.name}: (file): {exc}")
        return []
    if not isinstance(data, list):
        problems.append(f"{path.name}: (file): expected a YAML list")
        return []
    return data


M = TypeVar("M", bound=BaseModel)


def _parse_models(path: Path, model: type[M], problems: list[str]) -> list[M]:
    items: list[M] = []
    for index, raw in enumerate(_load_yaml_list(path, problems)):
        try:
            items.append(model.model_validate(raw))
        except ValidationError as exc:
            problems.extend(_errors(path.name, exc, prefix=f"[{index}]"))
    return items


def split_sections(body: str) -> tuple[list[dict[str, str]], list[str]]:
    """Split a Markdown body at `## Heading {#key kind=...}` lines into section dicts."""
    sections: list[dict[str, str]] = []
    problems: list[str] = []
    for number, line in enumerate(body.splitlines(), start=1):
        match = _SECTION_HEADING.match(line)
        if match:
            sections.append({**match.groupdict(), "markdown": ""})
        elif line.startswith("## "):
            problems.append(f"body line {number}: section heading needs '{{#key kind=...}}'")
        elif sections:
            sections[-1]["markdown"] += line + "\n"
        elif line.strip():
            problems.append(f"body line {number}: text before the first section heading")
    for section in sections:
        section["markdown"] = section["markdown"].strip()
    return sections, problems


def parse_article(path: Path, relative: str) -> tuple[ArticleFile | None, list[str]]:
    """Parse one article file; returns the model or the problems found."""
    try:
        post = frontmatter.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, [f"{relative}: (file): {exc}"]
    sections, problems = split_sections(post.content)
    problems = [f"{relative}: {p}" for p in problems]
    keys = [s["key"] for s in sections]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(f"{relative}: sections.{key}: duplicate section key")
    try:
        article = ArticleFile.model_validate({**post.metadata, "sections": sections})
    except ValidationError as exc:
        return None, [*problems, *_errors(relative, exc)]
    return (article if not problems else None), problems


def _parse_legal(path: Path, relative: str, problems: list[str]) -> list[LegalFile]:
    try:
        post = frontmatter.loads(path.read_text(encoding="utf-8"))
        return [LegalFile.model_validate({**post.metadata, "markdown": post.content.strip()})]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(f"{relative}: (file): {exc}")
    except ValidationError as exc:
        problems.extend(_errors(relative, exc))
    return []


def _check_unique(name: str, keys: list[str], problems: list[str]) -> None:
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(f"{name}: {key}: defined more than once")


def read_bundle(content_dir: Path) -> tuple[ContentBundle, list[str]]:
    """Read every file of a content folder; returns what parsed and the problems of each file."""
    problems: list[str] = []
    if not content_dir.is_dir():
        return ContentBundle(), [f"{content_dir}: (folder): not found"]
    bundle = ContentBundle(
        therapies=_parse_models(content_dir / "therapies.yaml", TherapyFile, problems),
        conditions=_parse_models(content_dir / "conditions.yaml", ConditionFile, problems),
        disclaimers=_parse_models(content_dir / "disclaimers.yaml", DisclaimerFile, problems),
        consent_texts=_parse_models(content_dir / "consent.yaml", ConsentFile, problems),
    )
    # Optional: a folder may have no reviewers or approvals yet.
    if (content_dir / "reviewers.yaml").exists():
        bundle.reviewers = _parse_models(content_dir / "reviewers.yaml", ReviewerFile, problems)
    if (content_dir / "approvals.yaml").exists():
        bundle.approvals = _parse_models(content_dir / "approvals.yaml", ApprovalFile, problems)
    _check_unique("reviewers.yaml", [str(r.id) for r in bundle.reviewers], problems)
    _check_unique(
        "consent.yaml", [f"{c.version} ({c.locale})" for c in bundle.consent_texts], problems
    )
    _check_unique("therapies.yaml", [t.slug for t in bundle.therapies], problems)
    _check_unique("conditions.yaml", [c.slug for c in bundle.conditions], problems)
    _check_unique(
        "disclaimers.yaml", [f"{d.key} ({d.locale})" for d in bundle.disclaimers], problems
    )
    for path in sorted((content_dir / "legal").glob("*.md")):
        relative = path.relative_to(content_dir).as_posix()
        bundle.legal.extend(_parse_legal(path, relative, problems))
    _check_unique("legal", [f"{d.key} ({d.locale})" for d in bundle.legal], problems)
    for path in sorted((content_dir / "articles").glob("*.md")):
        relative = path.relative_to(content_dir).as_posix()
        article, found = parse_article(path, relative)
        problems.extend(found)
        if article is not None:
            bundle.articles[relative] = article
    _read_media(content_dir, bundle, problems)
    return bundle, problems


def _read_media(content_dir: Path, bundle: ContentBundle, problems: list[str]) -> None:
    """Check every declared hero image once; a bad one is reported by whoever declares it."""
    declared = [
        *((f"therapies.yaml: {t.slug}.hero_image.file", t.hero_image) for t in bundle.therapies),
        *((f"{rel}: hero_image.file", a.hero_image) for rel, a in bundle.articles.items()),
    ]
    failed: dict[str, str] = {}
    for where, image in declared:
        if image is None:
            continue
        if image.file not in bundle.media and image.file not in failed:
            source, problem = read_source(content_dir / "media" / image.file, f"media/{image.file}")
            if source is not None:
                bundle.media[image.file] = source
            else:
                failed[image.file] = problem or "unreadable"
        if image.file in failed:
            problems.append(f"{where}: {failed[image.file]}")
