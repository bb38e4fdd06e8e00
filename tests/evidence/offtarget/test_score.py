"""CFD and MIT scores against published example values."""

from __future__ import annotations

import pytest

from pmpath.evidence.offtarget.score import (
    cfd_applies,
    cfd_score,
    cfd_specificity,
    cfd_tables,
    mit_score,
    mit_specificity,
)

GUIDE = "GACCCACACCGGAGGTGTAG"


def test_cfd_published_example() -> None:
    # Doench et al. 2016 CFD calculator worked example (printed with the authors'
    # cfd-score-calculator; re-derived in shared/domain/editing-and-offtarget.md section 5.1 from
    # Supplementary Table 19): rG:dT,4 0.9 x rG:dG,7 0.6875 x rG:dT,8 1 x rC:dT,10 0.8667 x GG 1.
    assert cfd_score("ATGGTCGGACTCCCTGCCAG", "ATGATCCAAATCCCTGCCAG", "AGG") == pytest.approx(
        0.53625, abs=1e-6
    )


def test_cfd_table_entries_and_pam_values_from_the_paper() -> None:
    mismatch, pam = cfd_tables()
    assert len(mismatch) == 240 and len(pam) == 16
    # Doench 2016 PAM activities (non-zero ones): GG 1, AG 0.259, CG 0.107, GA 0.069, GC 0.022,
    # GT 0.016, TG 0.039.
    assert pam["GG"] == 1.0
    assert pam["AG"] == pytest.approx(0.259, abs=5e-4)
    assert pam["CG"] == pytest.approx(0.107, abs=5e-4)
    assert pam["GA"] == pytest.approx(0.069, abs=5e-4)
    assert pam["TG"] == pytest.approx(0.039, abs=5e-4)
    assert sum(v > 0 for v in pam.values()) == 7


def test_cfd_perfect_match_and_pam_only() -> None:
    assert cfd_score(GUIDE, GUIDE, "TGG") == 1.0
    assert cfd_score(GUIDE, GUIDE.lower(), "CAG") == pytest.approx(0.259259259)
    assert cfd_score(GUIDE, GUIDE, "TTT") == 0.0
    with pytest.raises(ValueError, match="20-nt"):
        cfd_score(GUIDE[:19], GUIDE[:19], "TGG")
    assert cfd_applies(20, "NGG", "3prime") and not cfd_applies(21, "NNGRRT", "3prime")


def _mutated(positions: list[int]) -> str:
    swap = {"A": "C", "C": "G", "G": "T", "T": "A"}
    return "".join(swap[b] if i + 1 in positions else b for i, b in enumerate(GUIDE))


# Hsu et al. 2013 formula; per-hit values for the planted sites of the domain brief
# (shared/domain/editing-and-offtarget.md section 5.2: mismatch positions -> score).
MIT_VECTORS = [
    ([17], 38.5),
    ([12], 49.2),
    ([2, 3], 5.1467),
    ([5, 18], 2.1651),
    ([5, 6, 18], 0.3628),
    ([8, 13, 15], 0.2703),
    ([3, 4, 11, 12], 0.3852),
    ([3, 5, 11, 13], 0.3079),
]


@pytest.mark.parametrize(("positions", "expected"), MIT_VECTORS)
def test_mit_hit_scores(positions: list[int], expected: float) -> None:
    assert mit_score(GUIDE, _mutated(positions)) == pytest.approx(expected, abs=5e-5)


def test_mit_guide_specificity_of_the_eight_sites() -> None:
    scores = [mit_score(GUIDE, _mutated(p)) for p, _ in MIT_VECTORS]
    assert sum(scores) == pytest.approx(96.338, abs=1e-3)
    assert mit_specificity(scores) == pytest.approx(0.5093, abs=1e-4)
    assert mit_score(GUIDE, GUIDE) == 100.0


def test_cfd_specificity_is_crispors_formula() -> None:
    # 100 / (100 + 100 * (0.5 + 0.25)) = 100 / 175
    assert cfd_specificity([0.5, 0.25]) == pytest.approx(100 / 175)
    assert cfd_specificity([]) == 1.0
