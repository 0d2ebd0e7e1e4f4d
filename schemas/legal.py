"""Legal texts the clinic publishes, as clients read them."""

from datetime import date

from pydantic import BaseModel, Field


class LegalNoticePublic(BaseModel):
    """The current version of a legal text (the privacy notice) in one language."""

    key: str = Field(examples=["privacy-notice"])
    locale: str = Field(examples=["en"], description="The language of this text.")
    version: int = Field(ge=1, description="New words make a new version; old ones are kept.")
    title: str
    effective: date = Field(description="The date this version takes effect.")
    html: str = Field(description="The text as sanitized HTML.")
    text: str = Field(description="The text as plain text.")
