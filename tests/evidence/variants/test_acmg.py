"""ACMG/AMP classification: every 2015 combining rule, the points bands at each boundary, the
published disagreements between the systems, the ClinGen SVI rule set, and an oracle sweep."""

from __future__ import annotations

import itertools
import random

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.variants.acmg import (
    Classification,
    CombiningSystem,
    ConflictMode,
    GeneDiseaseValidity,
    GeneValidity,
    PointsThresholds,
    RuleSet,
    classify,
    element1_inputs,
    parse_codes,
    posterior_probability,
    validity_from_scores,
)

P, LP, VUS, LB, B = (
    Classification.PATHOGENIC,
    Classification.LIKELY_PATHOGENIC,
    Classification.UNCERTAIN,
    Classification.LIKELY_BENIGN,
    Classification.BENIGN,
)
ORIGINAL = RuleSet.ORIGINAL_2015


def rules(codes: str, conflict: ConflictMode = ConflictMode.ANY) -> tuple[Classification, str]:
    result = classify(parse_codes(codes), rule_set=ORIGINAL, conflict=conflict)
    return result.rules_2015_classification, " | ".join(result.rules_fired)


# --- Pathogenic (i): PVS1 + one of four -----------------------------------------------------


def test_pathogenic_i_a_pvs1_plus_strong() -> None:
    cls, fired = rules("PVS1,PS3")
    assert cls is P and "Pathogenic (i)" in fired


def test_pathogenic_i_b_pvs1_plus_two_moderate() -> None:
    cls, fired = rules("PVS1,PM1,PM2")
    assert cls is P and "Pathogenic (i)" in fired


def test_pathogenic_i_c_pvs1_plus_moderate_plus_supporting() -> None:
    cls, fired = rules("PVS1,PM1,PP3")
    assert cls is P and "Pathogenic (i)" in fired


def test_pathogenic_i_d_pvs1_plus_two_supporting() -> None:
    cls, fired = rules("PVS1,PP3,PP4")
    assert cls is P and "Pathogenic (i)" in fired


def test_pathogenic_ii_two_strong() -> None:
    cls, fired = rules("PS1,PS3")
    assert cls is P and fired.startswith("Pathogenic (ii)")


def test_pathogenic_iii_a_strong_plus_three_moderate() -> None:
    cls, fired = rules("PS1,PM1,PM2,PM5")
    assert cls is P and "Pathogenic (iii)" in fired


def test_pathogenic_iii_b_strong_two_moderate_two_supporting() -> None:
    cls, fired = rules("PS1,PM1,PM5,PP3,PP4")
    assert cls is P and "Pathogenic (iii)" in fired


def test_pathogenic_iii_c_strong_moderate_four_supporting() -> None:
    cls, fired = rules("PS1,PM1,PP1,PP2,PP3,PP4")
    assert cls is P and "Pathogenic (iii)" in fired


def test_pathogenic_iii_c_needs_four_supporting() -> None:
    assert rules("PS1,PM1,PP1,PP2,PP3")[0] is LP


# --- Likely pathogenic (i)-(vi) ---------------------------------------------------------------


def test_likely_pathogenic_i_pvs1_plus_moderate() -> None:
    cls, fired = rules("PVS1,PM2")
    assert cls is LP and fired.startswith("Likely pathogenic (i)")


def test_likely_pathogenic_ii_strong_plus_one_or_two_moderate() -> None:
    assert rules("PS3,PM1")[0] is LP
    cls, fired = rules("PS3,PM1,PM2")
    assert cls is LP and "Likely pathogenic (ii)" in fired


def test_likely_pathogenic_iii_strong_plus_two_supporting() -> None:
    cls, fired = rules("PS3,PP1,PP3")
    assert cls is LP and fired.startswith("Likely pathogenic (iii)")


def test_likely_pathogenic_iv_three_moderate() -> None:
    cls, fired = rules("PM1,PM2,PM5")
    assert cls is LP and fired.startswith("Likely pathogenic (iv)")


def test_likely_pathogenic_v_two_moderate_two_supporting() -> None:
    cls, fired = rules("PM1,PM5,PP1,PP3")
    assert cls is LP and fired.startswith("Likely pathogenic (v)")


def test_likely_pathogenic_vi_moderate_four_supporting() -> None:
    cls, fired = rules("PM1,PP1,PP2,PP3,PP4")
    assert cls is LP and fired.startswith("Likely pathogenic (vi)")


# --- Benign and likely benign -------------------------------------------------------------


def test_benign_i_ba1_stand_alone() -> None:
    cls, fired = rules("BA1")
    assert cls is B and fired.startswith("Benign (i)")


def test_benign_ii_two_strong() -> None:
    cls, fired = rules("BS1,BS2")
    assert cls is B and fired.startswith("Benign (ii)")


def test_likely_benign_i_strong_plus_supporting() -> None:
    cls, fired = rules("BS1,BP4")
    assert cls is LB and fired.startswith("Likely benign (i)")


def test_likely_benign_ii_two_supporting() -> None:
    cls, fired = rules("BP4,BP7")
    assert cls is LB and fired.startswith("Likely benign (ii)")


# --- Uncertain significance ---------------------------------------------------------------


def test_uncertain_i_no_rule_met() -> None:
    cls, fired = rules("")
    assert (cls, fired.split(" | ")[0]) == (VUS, "Uncertain significance (i): no other rule is met")
    assert rules("PM2,PP3")[0] is VUS
    assert rules("BS1")[0] is VUS


def test_ba1_is_stand_alone_unless_a_pathogenic_rule_is_met() -> None:
    cls, fired = rules("BA1,PP3,PP4")
    assert cls is B and "stand-alone BA1" in fired
    assert rules("BA1,PS1,PS3")[0] is VUS


def test_uncertain_ii_conflict_any_reading() -> None:
    cls, fired = rules("PS1,PM1,BS1", ConflictMode.ANY)
    assert cls is VUS and "reading 'any'" in fired


def test_uncertain_ii_conflict_both_met_reading() -> None:
    # only the pathogenic side meets a rule: LP under 'both_met' (InterVar's reading)
    assert rules("PS1,PM1,BS1", ConflictMode.BOTH_MET)[0] is LP
    cls, fired = rules("PS1,PM1,BS1,BS2", ConflictMode.BOTH_MET)
    assert cls is VUS and "reading 'both_met'" in fired


def test_acmg_calculator_bug_is_not_reproduced() -> None:
    # acmg-calculator evaluates benign first: 'Likely benign'; 2015 says VUS; points say P
    result = classify(["PVS1", "PS3", "BP4", "BP7"], rule_set=ORIGINAL)
    assert result.rules_2015_classification is VUS
    assert (result.points, result.points_classification) == (10, P)


# --- points scale ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "points", "expected"),
    [
        ("PVS1,PM2_Supporting,PP3", 10, P),  # lower edge of Pathogenic
        ("PVS1,PP3", 9, LP),  # upper edge of LP
        ("PS3,PM1", 6, LP),  # lower edge of LP
        ("PS3,PP3", 5, VUS),  # upper edge of VUS
        ("", 0, VUS),  # lower edge of VUS
        ("BP4", -1, LB),  # upper edge of LB
        ("BS1,BP4,BP7", -6, LB),  # lower edge of LB
        ("BS1,BP4_Strong", -8, B),  # benign side below -7
        ("BS1,BP4_Moderate,BP7", -7, B),  # upper edge of Benign
    ],
)
def test_points_thresholds_at_each_boundary(
    codes: str, points: int, expected: Classification
) -> None:
    result = classify(parse_codes(codes), system=CombiningSystem.POINTS, rule_set=ORIGINAL)
    assert (result.points, result.points_classification, result.classification) == (
        points,
        expected,
        expected,
    )


def test_configurable_benign_threshold_acgs() -> None:
    acgs = PointsThresholds(benign_max=-6)
    result = classify(["BS1", "BP4", "BP7"], thresholds=acgs, system=CombiningSystem.POINTS)
    assert (result.points, result.classification) == (-6, B)
    with pytest.raises(ValueError, match="thresholds must satisfy"):
        PointsThresholds(pathogenic_min=5)


def test_posterior_probabilities_of_tavtigian_2018() -> None:
    assert posterior_probability(10) == pytest.approx(0.9941, abs=5e-5)
    assert posterior_probability(8) == pytest.approx(0.9749, abs=5e-5)
    assert posterior_probability(6) == pytest.approx(0.8999, abs=5e-5)
    assert posterior_probability(0) == pytest.approx(0.10)
    assert posterior_probability(-7) < 0.001


@pytest.mark.parametrize(
    ("codes", "rules_class", "points", "points_class"),
    [
        ("PS1,PS3", P, 8, LP),
        ("PVS1,PM2", LP, 10, P),
        ("PVS1", VUS, 8, LP),
        ("PVS1,PP3", VUS, 9, LP),
        ("PVS1,PM2_Supporting", VUS, 9, LP),
        ("PVS1,PS3,BP4,BP7", VUS, 10, P),
    ],
)
def test_published_disagreements_are_reported(
    codes: str, rules_class: Classification, points: int, points_class: Classification
) -> None:
    result = classify(parse_codes(codes), rule_set=ORIGINAL)
    assert (result.rules_2015_classification, result.points, result.points_classification) == (
        rules_class,
        points,
        points_class,
    )
    assert not result.systems_agree
    assert result.disagreement == (
        f"the 2015 rules give {rules_class.value} but the points scale gives "
        f"{points_class.value} ({points} points)"
    )


# --- ClinGen SVI rule set -------------------------------------------------------------------


def test_svi_reads_pm2_as_supporting_unless_a_strength_is_given() -> None:
    svi = classify(["PVS1", "PM2"])  # default rule set: clingen-svi
    assert svi.rule_set is RuleSet.CLINGEN_SVI
    assert (svi.codes[1].strength.value, svi.points, svi.rules_2015_classification) == (
        "Supporting",
        9,
        VUS,
    )
    assert any("ClinGen SVI PM2" in n for n in svi.notes)
    explicit = classify(["PVS1", "PM2_Moderate"])
    assert (explicit.points, explicit.rules_2015_classification) == (10, LP)
    assert any("recommends Supporting" in n for n in explicit.notes)
    original = classify(["PVS1", "PM2"], rule_set=ORIGINAL)
    assert (original.points, original.rules_2015_classification) == (10, LP)


def test_svi_does_not_count_pp5_or_bp6() -> None:
    svi = classify(["PM1", "PM5", "PP3", "PP5"])
    assert svi.points == 5 and svi.rules_2015_classification is VUS
    assert not svi.codes[3].counted
    original = classify(["PM1", "PM5", "PP3", "PP5"], rule_set=ORIGINAL)
    assert original.points == 6 and original.rules_2015_classification is LP


def test_pvs1_with_pm4_is_refused_under_svi() -> None:
    with pytest.raises(InvalidInputError, match="PVS1 and PM4 are not combined"):
        classify(["PVS1", "PM4"])
    assert any("PM4" in n for n in classify(["PVS1", "PM4"], rule_set=ORIGINAL).notes)


def test_strength_modifiers_count_at_applied_strength() -> None:
    result = classify(["PVS1_Strong", "PM3_Strong", "PP3_Moderate"], rule_set=ORIGINAL)
    assert result.counts.ps == 2 and result.counts.pm == 1 and result.counts.pvs == 0
    assert (result.points, result.rules_2015_classification) == (10, P)
    assert classify(["PS2_VeryStrong", "PVS1"]).rules_2015_classification is P


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("PX1", "not an ACMG/AMP code"),
        ("PM7", "not an ACMG/AMP code"),
        ("PM2_Weak", "not an ACMG/AMP code"),
        ("BA1_Strong", "only BA1 is stand-alone"),
        ("PS1_StandAlone", "only BA1 is stand-alone"),
        ("BS1_VeryStrong", "no VeryStrong level"),
    ],
)
def test_bad_codes_are_refused(token: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        classify([token])


def test_repeated_code_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="PM2 is given more than once"):
        classify(["PM2", "PM2_Supporting"])


# --- oracle: acmg-points (MIT) agrees on every combination in a random sweep ----------------


def test_agrees_with_acmg_points_on_random_code_sets() -> None:
    acmg_points = pytest.importorskip("acmg_points.core")
    pool = [
        "PVS1", "PS1", "PS2", "PS3", "PS4", "PM1", "PM2", "PM3", "PM5", "PM6", "PP1", "PP2",
        "PP3", "PP4", "BA1", "BS1", "BS2", "BS3", "BS4", "BP1", "BP2", "BP3", "BP4", "BP5",
        "BP7", "PM2_Supporting", "PVS1_Strong", "PS3_Moderate", "PP3_Strong", "BP4_Strong",
    ]  # fmt: skip
    rng = random.Random(20250301)
    checked = 0
    for _ in range(3000):
        tokens = rng.sample(pool, rng.randint(0, 6))
        if len({t.split("_")[0] for t in tokens}) < len(tokens):
            continue
        for mine, theirs in ((ConflictMode.ANY, "any"), (ConflictMode.BOTH_MET, "both-met")):
            ours = classify(tokens, rule_set=ORIGINAL, conflict=mine)
            oracle = acmg_points.classify(tokens, conflict=theirs)
            assert ours.points == oracle.total, tokens
            assert ours.points_classification.value == oracle.points_class, tokens
            assert ours.rules_2015_classification.value == oracle.rules_class, tokens
        checked += 1
    assert checked > 1500


# --- gene-disease validity and Element 1 inputs ---------------------------------------------


def test_gencc_ids_and_scores() -> None:
    assert GeneValidity.DEFINITIVE.gencc_id == "GENCC:100001"
    assert GeneValidity.NO_KNOWN.gencc_id == "GENCC:100008"
    assert validity_from_scores(12, 6, replicated_over_time=True) is GeneValidity.DEFINITIVE
    assert validity_from_scores(10, 2, replicated_over_time=False) is GeneValidity.STRONG
    assert validity_from_scores(15, 0, replicated_over_time=False) is GeneValidity.STRONG
    assert validity_from_scores(11.5, 0, replicated_over_time=True) is GeneValidity.MODERATE
    assert validity_from_scores(5, 1, replicated_over_time=True) is GeneValidity.LIMITED
    assert validity_from_scores(0, 0, replicated_over_time=False) is GeneValidity.NO_KNOWN
    with pytest.raises(InvalidInputError):
        validity_from_scores(-1, 0, replicated_over_time=False)


def test_element1_inputs() -> None:
    validity = GeneDiseaseValidity(
        gene_symbol="CPS1",
        disease_id="OMIM:237300",
        inheritance="autosomal_recessive",
        classification=GeneValidity.DEFINITIVE,
    )
    assert validity.inheritance_hpo == "HP:0000007"
    result = classify(["PVS1", "PM2_Supporting", "PM3", "PP4"])
    inputs = element1_inputs(result, validity, monogenic=True)
    assert inputs.classification is P and inputs.supports_causality
    assert inputs.rationale.startswith("variant classified Pathogenic (acmg2015; 12 points)")
    assert "GENCC:100001" in inputs.rationale
    limited = validity.model_copy(update={"classification": GeneValidity.LIMITED})
    assert not element1_inputs(result, limited, monogenic=True).supports_causality
    assert not element1_inputs(result, validity, monogenic=False).supports_causality
    with pytest.raises(ValueError, match="inheritance"):
        GeneDiseaseValidity(
            gene_symbol="CPS1",
            disease_id="OMIM:237300",
            inheritance="dominant",
            classification=GeneValidity.STRONG,
        )


def test_every_code_parses_with_its_default_strength() -> None:
    from pmpath.evidence.variants.acmg import CODES

    assert len(CODES) == 28
    for code, strength in itertools.product(CODES, ["", "_Supporting"]):
        if code == "BA1" and strength:
            continue
        assert classify([code + strength], rule_set=ORIGINAL).codes[0].code == code
