"""The chain-of-identity (COI) identifier: one id per patient batch, with a check character.

Structure, after ISBT 128's Donation Identification Number and the Standards Coordinating Body /
ISBT 128 ST-028 chain-of-identity identifier (a globally unique id assigned by the manufacturer
that links every item of one patient's therapy event)::

    PMP01 26 000042 01 K
    |     |  |      |  `- check character, ISO/IEC 7064 MOD 37-2 over the 15 characters before it
    |     |  |      `---- batch sequence within the therapy event (01, 02, ... one per batch)
    |     |  `----------- therapy-event sequence: one per patient and product, per issuer and year
    |     `-------------- year the therapy event was opened (2 digits)
    `-------------------- issuer (facility) code: 5 characters, a letter then letters or digits

The identifier is stored and encoded compact (16 characters, ``PMP012600004201K``) and printed
eye-readable with spaces. All batches of one patient's product share the first 13 characters (the
therapy event); the batch sequence tells them apart.

ISBT 128 data structures and facility codes are licensed by ICCBBA and its tables may not be
redistributed, so pmpath issues its own identifiers in this public structure with a public check
scheme, and stores identifiers issued elsewhere as opaque strings.

Check character: ISO/IEC 7064:2003 MOD 37-2, a pure system with modulus 37 and radix 2 over the
alphabet ``0-9 A-Z *`` (values 0-36), the scheme ISBT 128 uses for its DIN check character. It
detects every single-character substitution and every transposition of two adjacent characters.
Hand-written (six lines) rather than a dependency; tested against python-stdnum's
``iso7064.mod_37_2`` and the standard's example.
"""

from __future__ import annotations

import re

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
"""ISO/IEC 7064 MOD 37-2 characters; a character's value is its index."""

COI_LENGTH = 16
_BODY = re.compile(r"^([A-Z][A-Z0-9]{4})(\d{2})(\d{6})(\d{2})$")


class ChainOfIdentity(FrozenModel):
    """The parts of a chain-of-identity identifier."""

    issuer_code: str
    year_2digit: int
    therapy_event: int
    batch_sequence: int
    check: str

    @property
    def compact(self) -> str:
        """The 16-character identifier as stored and encoded."""
        return (
            f"{self.issuer_code}{self.year_2digit:02d}{self.therapy_event:06d}"
            f"{self.batch_sequence:02d}{self.check}"
        )

    @property
    def eye_readable(self) -> str:
        """The identifier as printed for people: ``PMP01 26 000042 01 K``."""
        return (
            f"{self.issuer_code} {self.year_2digit:02d} {self.therapy_event:06d} "
            f"{self.batch_sequence:02d} {self.check}"
        )

    @property
    def therapy_event_id(self) -> str:
        """The first 13 characters, shared by every batch of one patient's therapy event."""
        return self.compact[:13]


def check_character(data: str) -> str:
    """Return the ISO/IEC 7064 MOD 37-2 check character of ``data`` (characters 0-9, A-Z).

    Pure system, recursive method of ISO/IEC 7064 section 7: ``p = ((p + value) * 2) mod 37`` over
    the characters left to right, then the check value is ``(38 - p) mod 37``, so that the whole
    string weighted by powers of 2 is congruent to 1 modulo 37.
    """
    p = 0
    for char in data:
        value = ALPHABET.find(char)
        if value < 0 or char == "*":
            raise InvalidInputError(f"{char!r} cannot appear in a chain-of-identity identifier")
        p = ((p + value) * 2) % 37
    return ALPHABET[(38 - p) % 37]


def make_coi(
    issuer_code: str, year_2digit: int, therapy_event: int, batch_sequence: int
) -> ChainOfIdentity:
    """Return the identifier of batch ``batch_sequence`` of therapy event ``therapy_event``."""
    if not 0 <= year_2digit <= 99:
        raise InvalidInputError(f"year {year_2digit} must have two digits")
    if not 1 <= therapy_event <= 999_999:
        raise InvalidInputError(f"therapy-event sequence {therapy_event} must be 1-999999")
    if not 1 <= batch_sequence <= 99:
        raise InvalidInputError(f"batch sequence {batch_sequence} must be 1-99")
    body = f"{issuer_code}{year_2digit:02d}{therapy_event:06d}{batch_sequence:02d}"
    if not _BODY.match(body):
        raise InvalidInputError(
            f"issuer code {issuer_code!r} must be 5 characters, a letter then letters or digits"
        )
    return ChainOfIdentity(
        issuer_code=issuer_code,
        year_2digit=year_2digit,
        therapy_event=therapy_event,
        batch_sequence=batch_sequence,
        check=check_character(body),
    )


def parse_coi(text: str) -> ChainOfIdentity:
    """Return the parts of a chain-of-identity identifier (spaces and hyphens ignored, case
    folded); InvalidInputError saying what is wrong, a wrong check character included."""
    compact = re.sub(r"[\s-]", "", text).upper()
    if len(compact) != COI_LENGTH:
        raise InvalidInputError(
            f"chain-of-identity identifier {text!r} has {len(compact)} characters, not {COI_LENGTH}"
        )
    body, check = compact[:-1], compact[-1]
    match = _BODY.match(body)
    if match is None:
        raise InvalidInputError(
            f"chain-of-identity identifier {text!r} is not ISSUER(5) YEAR(2) EVENT(6) BATCH(2) "
            "CHECK(1)"
        )
    expected = check_character(body)
    if check != expected:
        raise InvalidInputError(
            f"chain-of-identity identifier {text!r} has check character {check!r}, "
            f"its characters give {expected!r}: it was mistyped or misread"
        )
    issuer, year, event, batch = match.groups()
    return ChainOfIdentity(
        issuer_code=issuer,
        year_2digit=int(year),
        therapy_event=int(event),
        batch_sequence=int(batch),
        check=check,
    )
