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
    # Articles this import entered in the change feed.
    entered: set[uuid.UUID] = field(default_factory=set)
    # Hero image renditions deleted, unused for longer than the change feed's retention.
    media_removed: int = 0

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
        )
