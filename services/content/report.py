"""What a content import changed: the report the importer fills and its steps write to."""

import uuid
from dataclasses import dataclass, field


@dataclass
class ImportReport:
    """What an import changed; all zeros but `unchanged` on a repeated run."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    unchanged: int = 0
    taxonomy_changes: int = 0
    disclaimer_versions: list[str] = field(default_factory=list)
    consent_versions: list[str] = field(default_factory=list)
    legal_versions: list[str] = field(default_factory=list)
    # Articles this import entered in the change feed.
    entered: set[uuid.UUID] = field(default_factory=set)
    # Hero image renditions deleted, unused for longer than the change feed's retention.
    media_removed: int = 0
    # Reviewer records added or changed, and approvals stored, from the folder.
    reviewers: int = 0
    approvals: int = 0
    # Approvals of content their article does not have (it was edited since): they cover nothing.
    stale_approvals: int = 0
    # Published articles whose shown review changed, and those with no approval (development).
    reviews_changed: int = 0
    unapproved: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything in the database changed."""
        return bool(
            self.created
            or self.updated
            or self.archived
            or self.taxonomy_changes
            or self.disclaimer_versions
            or self.consent_versions
            or self.legal_versions
            or self.reviewers
            or self.approvals
            or self.reviews_changed
        )
