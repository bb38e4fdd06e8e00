"""A label made by pmpath, rendered to PNG (and PDF), decoded again by zxing-cpp; payload rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.cmc.coi import make_coi
from pmpath.evidence.cmc.label import (
    LabelContent,
    decode_label_image,
    label_payload,
    parse_label_payload,
)
from pmpath.reports.cmc import render_label

CONTENT = LabelContent(
    chain_of_identity_id=make_coi("PMP01", 26, 42, 1).compact,
    patient_id="PT-0000000001",
    product_id="PROD-CPS1-Q335X",
    batch_id="BATCH-PMP012600004201",
    lot_number="DP-261120-01",
    expires_on=date(2027, 5, 19),
)


def test_label_png_round_trips_through_zxing(tmp_path: Path) -> None:
    png = render_label(CONTENT, tmp_path / "label.png", product_name="k-abe CPS1 Q335X")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    texts = decode_label_image(png)
    assert texts == [label_payload(CONTENT)]
    assert parse_label_payload(texts[0]) == CONTENT


def test_a_photo_like_copy_still_decodes(tmp_path: Path) -> None:
    from PIL import Image, ImageFilter

    png = render_label(CONTENT, tmp_path / "label.png", product_name="k-abe")
    with Image.open(png) as image:
        photo = image.convert("L").rotate(7, expand=True, fillcolor=255).resize(
            (image.width // 2, image.height // 2)
        ).filter(ImageFilter.GaussianBlur(1))  # fmt: skip
        photo.save(tmp_path / "photo.jpg", quality=70)
    assert parse_label_payload(decode_label_image(tmp_path / "photo.jpg")[0]) == CONTENT


def test_label_pdf_is_written(tmp_path: Path) -> None:
    pdf = render_label(CONTENT, tmp_path / "label.pdf", product_name="k-abe")
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_an_image_without_a_code_is_refused(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("L", (200, 100), 255).save(tmp_path / "blank.png")
    with pytest.raises(InvalidInputError, match="no QR or DataMatrix barcode"):
        decode_label_image(tmp_path / "blank.png")


def test_payload_rules() -> None:
    with pytest.raises(InvalidInputError, match="not a pmpath batch label"):
        parse_label_payload("https://example.org")
    with pytest.raises(InvalidInputError, match="lacks PT"):
        parse_label_payload("PMPATH-COI/1|COI=X|PRD=P|BATCH=B|LOT=L")
    with pytest.raises(InvalidInputError, match="may not hold"):
        label_payload(CONTENT.model_copy(update={"lot_number": "A|B"}))


def test_a_datamatrix_label_from_another_system_decodes(tmp_path: Path) -> None:
    import numpy as np
    import zxingcpp
    from PIL import Image

    symbol = zxingcpp.create_barcode(label_payload(CONTENT), zxingcpp.BarcodeFormat.DataMatrix)
    image = np.pad(np.asarray(symbol.to_image(scale=6)), 24, constant_values=255)
    Image.fromarray(image).save(tmp_path / "datamatrix.png")
    assert parse_label_payload(decode_label_image(tmp_path / "datamatrix.png")[0]) == CONTENT
