"""Clinicians who review articles: the record a public `medical_review` names."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from schemas.text import PageUrl, Text100, Text200

US_STATE_PATTERN = r"^[A-Z]{2}$"
# The NPI check digit is Luhn over the nine digits with the card issuer prefix 80840 in front
# (CMS, "Requirements for NPI check digit").
NPI_PREFIX = "80840"


def npi_check_digit_ok(npi: str) -> bool:
    """Whether a 10-digit NPI's last digit is the Luhn check digit of `80840` + its first 9."""
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return False
    total = 0
    # Luhn from the right over the payload (check digit excluded): double every other digit,
    # starting with the rightmost.
    for position, char in enumerate(reversed(NPI_PREFIX + npi[:9])):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])


def _npi(value: str) -> str:
    if not npi_check_digit_ok(value):
        raise ValueError("not a valid NPI: its check digit (Luhn, with prefix 80840) is wrong")
    return value


Npi = Annotated[str, StringConstraints(pattern=r"^[12][0-9]{9}$"), AfterValidator(_npi)]


class ReviewerCreate(BaseModel):
    """A clinician to add to the registry."""

    model_config = ConfigDict(extra="forbid")

    name: Text200 = Field(min_length=1, description="As it should appear on articles.")
    credentials: Text100 = Field(min_length=1, examples=["MD", "DO", "NP", "PharmD"])
    specialty: Text100 = Field(min_length=1, examples=["Psychiatry", "Anesthesiology"])
    licence_state: Annotated[str, StringConstraints(pattern=US_STATE_PATTERN)] | None = Field(
        default=None, description="Two-letter state of the licence, e.g. `CA`."
    )
    licence_number: (
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 .-]{0,39}$")] | None
    ) = None
    npi: Npi | None = Field(
        default=None, description="National Provider Identifier: 10 digits, Luhn-checked."
    )
    profile_url: PageUrl | None = None
    placeholder: bool = Field(
        default=False, description="True for demo records; production never publishes on them."
    )


class ReviewerPublic(BaseModel):
    """A reviewer in the registry."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    credentials: str
    specialty: str
    licence_state: str | None
    licence_number: str | None
    npi: str | None
    profile_url: str | None
    placeholder: bool
    created_at: datetime


class ReviewerList(BaseModel):
    """Every reviewer, oldest first."""

    items: list[ReviewerPublic]
