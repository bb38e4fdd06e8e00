"""What a batch label carries in its 2D barcode, and reading it back from an image.

Payload: one line of ``KEY=value`` fields separated by ``|`` after the tag ``PMPATH-COI/1``::

    PMPATH-COI/1|COI=PMP012600004201K|PT=PT-...|PRD=PROD-...|BATCH=BATCH-...|LOT=...|EXP=2026-06-30

Two identifiers are on every label (the chain-of-identity id and the patient pseudonym), as the
chain-of-identity guidance asks, with the product, batch, lot and expiry date. The same text is
printed eye-readable beside the symbol.

Decoding uses zxing-cpp (Apache-2.0; ``zxingcpp.read_barcodes``) on an image opened with Pillow,
so a photo of a printed label or the PNG pmpath wrote both work. The symbol is a QR code made
with segno (:mod:`pmpath.reports.cmc`); zxing-cpp reads DataMatrix too, so labels printed by
another system in DataMatrix decode the same way.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError, NotFoundError

TAG = "PMPATH-COI/1"
_KEYS = {
    "COI": "chain_of_identity_id",
    "PT": "patient_id",
    "PRD": "product_id",
    "BATCH": "batch_id",
    "LOT": "lot_number",
    "EXP": "expires_on",
}


class LabelContent(FrozenModel):
    """The identifiers a batch label carries."""

    chain_of_identity_id: str
    patient_id: str
    product_id: str
    batch_id: str
    lot_number: str
    expires_on: date | None


def label_payload(content: LabelContent) -> str:
    """Return the barcode text of ``content`` (format in the module doc)."""
    values = content.model_dump(mode="json")
    fields = [TAG]
    for key, name in _KEYS.items():
        value = values[name]
        text = "" if value is None else str(value)
        if "|" in text or "=" in text:
            raise InvalidInputError(f"label field {name} may not hold '|' or '=': {text!r}")
        fields.append(f"{key}={text}")
    return "|".join(fields)


def parse_label_payload(text: str) -> LabelContent:
    """Return the identifiers in barcode text ``text``; InvalidInputError if it is not a pmpath
    label."""
    parts = text.strip().split("|")
    if parts[0] != TAG:
        raise InvalidInputError(
            f"barcode text does not start with {TAG!r}: not a pmpath batch label ({text[:40]!r})"
        )
    values: dict[str, str | None] = {}
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if not sep or key not in _KEYS:
            raise InvalidInputError(f"barcode field {part!r} is not one of {', '.join(_KEYS)}")
        values[_KEYS[key]] = value or None
    missing = [k for k, name in _KEYS.items() if name not in values and k != "EXP"]
    if missing:
        raise InvalidInputError(f"barcode text lacks {', '.join(missing)}")
    return LabelContent.model_validate(values)


def decode_label_image(path: Path) -> list[str]:
    """Return the texts of the 2D barcodes (QR, DataMatrix) zxing-cpp finds in the image at
    ``path``; InvalidInputError if none is found."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise NotFoundError(f"label image {path} does not exist")
    try:
        with Image.open(path) as image:
            found = zxingcpp.read_barcodes(
                image.convert("L"),
                formats=zxingcpp.BarcodeFormats(
                    [zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.DataMatrix]
                ),
            )
    except UnidentifiedImageError:
        raise InvalidInputError(f"{path} is not an image Pillow can read") from None
    texts = [b.text for b in found if b.valid]
    if not texts:
        raise InvalidInputError(f"{path}: no QR or DataMatrix barcode could be read")
    return texts
