"""Editor profiles: the shipped file loads, values match their sources, bad files are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.design.editors import iupac_regex, load_editor, load_editors


def test_shipped_profiles_match_the_literature() -> None:
    spcas9 = load_editor("spcas9")
    assert (spcas9.pam, spcas9.pam_side, spcas9.protospacer_length, spcas9.cut_after) == (
        "NGG", "3prime", 20, 17,
    )  # fmt: skip
    assert load_editor("SaCas9").pam == "NNGRRT"
    assert load_editor("Cas12a").pam_side == "5prime"
    be4 = load_editor("BE4max")
    assert (be4.conversion, be4.window) == ("C>T", (4, 8))
    abe8e = load_editor("ABE8e")
    assert (abe8e.conversion, abe8e.window) == ("A>G", (3, 9))
    assert load_editor("PE2").pbs_length == (8, 17)
    assert all(p.citation for p in load_editors().values())


def test_iupac_pam_patterns() -> None:
    assert re.fullmatch(iupac_regex("NGG"), "TGG")
    assert not re.fullmatch(iupac_regex("NGG"), "TGA")
    assert re.fullmatch(iupac_regex("NNGRRT"), "ACGAGT")
    assert re.fullmatch(iupac_regex("TTTV"), "TTTC") and not re.fullmatch(
        iupac_regex("TTTV"), "TTTT"
    )
    with pytest.raises(InvalidInputError, match="not IUPAC"):
        iupac_regex("NGX")


def test_unknown_editor_and_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="unknown editor 'ABE9'; known editors: SpCas9"):
        load_editor("ABE9")
    bad = tmp_path / "editors.yaml"
    bad.write_text(
        "- {name: X, kind: base_editor, pam: NGG, pam_side: 3prime, protospacer_length: 20,"
        " cut_after: 17, conversion: A>G, window: [4, 25], citation: c}\n"
    )
    with pytest.raises(InvalidInputError, match=r"profile 1: .*outside the protospacer"):
        load_editors(bad)
    bad.write_text("name: [unclosed")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_editors(bad)
