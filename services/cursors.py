"""Cursors over lists ordered by an integer id (the change feed, the audit log): 16 hex digits
(a signed 64-bit id), so that every string of that form (ID_CURSOR_PATTERN) is a position and
nothing else is. Opaque to clients, like every cursor the API hands out: they keep
`meta.next_cursor` (or follow `links.next`) and send it back as it came."""

import re

from core.errors import ValidationFailedError
from schemas.common import ID_CURSOR_PATTERN


def encode_id(row_id: int) -> str:
    """The cursor of the position after the row `row_id` (0: before the first)."""
    return f"{row_id:016x}"


def decode_id(cursor: str, *, field: str) -> int:
    """The id a cursor stands for; a string of another form fails validation on `field`."""
    if not re.fullmatch(ID_CURSOR_PATTERN, cursor):
        raise ValidationFailedError(
            [{"field": field, "type": "invalid_cursor", "message": "Invalid cursor."}]
        )
    return int(cursor, 16)
