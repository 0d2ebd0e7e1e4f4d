"""Loading one row by its primary key, or the domain's not-found error."""

from typing import Any, TypeVar

from sqlmodel import Session, SQLModel

from core.errors import NotFoundError

Row = TypeVar("Row", bound=SQLModel)


def get_or_not_found(
    session: Session, model: type[Row], ident: Any, *, code: str, what: str
) -> Row:
    """The row of `model` with primary key `ident`, or NotFoundError naming `what`."""
    row = session.get(model, ident)
    if row is None:
        raise NotFoundError(f"No {what} {ident}.", code=code)
    return row
