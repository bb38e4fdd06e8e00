"""ACMG/AMP variant classification: the 2015 combining rules and the Bayesian points scale.

What it computes: from the evidence codes a curator applied (``PVS1``, ``PM2_Supporting``, ...),
the five-tier classification (Pathogenic, Likely pathogenic, Uncertain significance, Likely
benign, Benign) under two systems side by side, the rules or thresholds that decided each, and
whether the two systems agree.

Methods and references:

- Richards S et al., Genet Med 2015;17:405, Table 5 (the combining rules). Codes count at their
  *applied* strength (``PM2_Supporting`` counts as a supporting criterion), the practice ClinGen
  SVI made standard. Conflicting pathogenic and benign evidence gives "Uncertain significance";
  the paper does not say which conflict counts, so the reading is a parameter
  (:class:`ConflictMode`): ``any`` (any pathogenic code together with any benign code) or
  ``both_met`` (a pathogenic rule and a benign rule are both met; InterVar's reading).
- Tavtigian SV et al., Genet Med 2018;20:1054 (Bayesian framework: prior 0.10, OddsPath of very
  strong evidence 350, strength levels as powers of 2) and Tavtigian SV et al., Hum Mutat
  2020;41:1734 (points: supporting 1, moderate 2, strong 4, very strong 8, benign negative;
  Pathogenic >= 10, Likely pathogenic 6..9, Uncertain 0..5, Likely benign -1..-6, Benign <= -7).
  BA1 is stand-alone; it is scored -8 (the convention of acmg-points) and noted.
- ClinGen Sequence Variant Interpretation recommendations as a switchable rule set
  (:class:`RuleSet`): PM2 applies at Supporting by default (SVI PM2 recommendation v1.0, 2020);
  PP5 and BP6 are not used (Biesecker & Harrison, Genet Med 2018;20:1687); PVS1 and PM4 are not
  combined (Abou Tayoun et al., Hum Mutat 2018;39:1517). A code given with an explicit strength
  (``PM2_Moderate``) is taken as given, with a note.
- ClinGen gene-disease validity (Strande et al., AJHG 2017;100:895; SOP v9-v11):
  :class:`GeneDiseaseValidity` and :func:`validity_from_scores`.

Assumptions: the 2015 paper has no benign moderate tier; a benign code modified to Moderate
(``BP4_Moderate``, Pejaver 2022) counts as a supporting benign criterion in the 2015 rules (it
cannot make "Benign" with one BS, which the points scale also would not) and -2 in points. A
very strong code beyond the first (``PS2_VeryStrong`` with ``PVS1``) counts as strong evidence
in rule Pathogenic (i).

Heavy lifting: none is needed; the rules are a few counts and comparisons, hand-written from the
papers so that each rule can be reported by name. ``acmg-points`` (MIT) is the test oracle.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError


class Strength(StrEnum):
    """Strength of one evidence code."""

    SUPPORTING = "Supporting"
    MODERATE = "Moderate"
    STRONG = "Strong"
    VERY_STRONG = "VeryStrong"
    STAND_ALONE = "StandAlone"


class Direction(StrEnum):
    """Which way a code points."""

    PATHOGENIC = "pathogenic"
    BENIGN = "benign"


class Classification(StrEnum):
    """The five ACMG/AMP classes (their values are what the JSON shows)."""

    PATHOGENIC = "Pathogenic"
    LIKELY_PATHOGENIC = "Likely pathogenic"
    UNCERTAIN = "Uncertain significance"
    LIKELY_BENIGN = "Likely benign"
    BENIGN = "Benign"


class CombiningSystem(StrEnum):
    """Which system's class is reported as ``classification`` (both are always computed)."""

    ACMG2015 = "acmg2015"
    POINTS = "points"


class RuleSet(StrEnum):
    """How codes are read before combining: the ClinGen SVI recommendations or 2015 as written."""

    CLINGEN_SVI = "clingen-svi"
    ORIGINAL_2015 = "original-2015"


class ConflictMode(StrEnum):
    """Reading of the 2015 conflict rule (see the module docstring)."""

    ANY = "any"
    BOTH_MET = "both_met"


_S, _M, _ST, _VS, _SA = (
    Strength.SUPPORTING,
    Strength.MODERATE,
    Strength.STRONG,
    Strength.VERY_STRONG,
    Strength.STAND_ALONE,
)
_P, _B = Direction.PATHOGENIC, Direction.BENIGN

CODES: dict[str, tuple[Direction, Strength, str]] = {
    "PVS1": (_P, _VS, "null variant in a gene where loss of function causes disease"),
    "PS1": (_P, _ST, "same amino-acid change as an established pathogenic variant"),
    "PS2": (_P, _ST, "de novo, maternity and paternity confirmed"),
    "PS3": (_P, _ST, "well-established functional studies show a damaging effect"),
    "PS4": (_P, _ST, "prevalence in affected individuals increased over controls"),
    "PM1": (_P, _M, "mutational hot spot or well-established functional domain"),
    "PM2": (_P, _M, "absent from controls (or extremely low frequency if recessive)"),
    "PM3": (_P, _M, "recessive: detected in trans with a pathogenic variant"),
    "PM4": (_P, _M, "protein length change (in-frame indel in non-repeat region, stop-loss)"),
    "PM5": (_P, _M, "novel missense at a residue where another pathogenic missense is known"),
    "PM6": (_P, _M, "assumed de novo, without confirmation of maternity and paternity"),
    "PP1": (_P, _S, "cosegregation with disease in multiple affected family members"),
    "PP2": (_P, _S, "missense in a gene with a low rate of benign missense variation"),
    "PP3": (_P, _S, "multiple lines of computational evidence support a deleterious effect"),
    "PP4": (_P, _S, "phenotype or family history highly specific for the gene's disease"),
    "PP5": (_P, _S, "reputable source reports pathogenic (retired by ClinGen SVI)"),
    "BA1": (_B, _SA, "allele frequency above 5% in population databases"),
    "BS1": (_B, _ST, "allele frequency greater than expected for the disorder"),
    "BS2": (_B, _ST, "observed in a healthy adult with full penetrance expected early"),
    "BS3": (_B, _ST, "well-established functional studies show no damaging effect"),
    "BS4": (_B, _ST, "lack of segregation in affected family members"),
    "BP1": (_B, _S, "missense in a gene where only truncating variants cause disease"),
    "BP2": (_B, _S, "in trans with a pathogenic variant (dominant) or in cis"),
    "BP3": (_B, _S, "in-frame indel in a repetitive region without known function"),
    "BP4": (_B, _S, "multiple lines of computational evidence suggest no impact"),
    "BP5": (_B, _S, "variant found in a case with an alternate molecular basis"),
    "BP6": (_B, _S, "reputable source reports benign (retired by ClinGen SVI)"),
    "BP7": (_B, _S, "synonymous with no predicted splice impact"),
}
"""The 28 ACMG/AMP 2015 codes: direction, default strength, short meaning (Richards 2015)."""

POINTS_PER_STRENGTH: dict[Strength, int] = {_S: 1, _M: 2, _ST: 4, _VS: 8, _SA: 8}
"""Tavtigian 2020 points per strength (negated for benign codes; BA1 scored -8 by convention)."""

PRIOR_PROBABILITY = 0.10
"""Tavtigian 2018 prior probability of pathogenicity."""

ODDS_PATH_VERY_STRONG = 350.0
"""Tavtigian 2018 odds of pathogenicity of one very strong criterion (8 points)."""

_TOKEN = re.compile(
    r"^(P(?:VS1|S[1-4]|M[1-6]|P[1-5])|B(?:A1|S[1-4]|P[1-7]))"
    r"(?:[_:-](Supporting|Moderate|Strong|VeryStrong|Very_Strong|StandAlone|Stand_Alone))?$",
    re.IGNORECASE,
)


class PointsThresholds(FrozenModel):
    """Class boundaries on the points scale (inclusive); defaults are Tavtigian 2020."""

    pathogenic_min: int = 10
    likely_pathogenic_min: int = 6
    likely_benign_max: int = -1
    benign_max: int = -7

    @model_validator(mode="after")
    def _ordered(self) -> PointsThresholds:
        if not (
            self.benign_max < self.likely_benign_max < 0
            and 0 < self.likely_pathogenic_min < self.pathogenic_min
        ):
            raise ValueError(
                "points thresholds must satisfy benign_max < likely_benign_max < 0 < "
                "likely_pathogenic_min < pathogenic_min"
            )
        return self

    def classify(self, points: int) -> tuple[Classification, str]:
        """Return the class of ``points`` and the threshold rule that placed it there."""
        if points >= self.pathogenic_min:
            return Classification.PATHOGENIC, f"points {points} >= {self.pathogenic_min}"
        if points >= self.likely_pathogenic_min:
            return (
                Classification.LIKELY_PATHOGENIC,
                f"points {points} in {self.likely_pathogenic_min}..{self.pathogenic_min - 1}",
            )
        if points <= self.benign_max:
            return Classification.BENIGN, f"points {points} <= {self.benign_max}"
        if points <= self.likely_benign_max:
            return (
                Classification.LIKELY_BENIGN,
                f"points {points} in {self.benign_max + 1}..{self.likely_benign_max}",
            )
        return (
            Classification.UNCERTAIN,
            f"points {points} in {self.likely_benign_max + 1}..{self.likely_pathogenic_min - 1}",
        )


class AppliedCode(FrozenModel):
    """One evidence code as it was counted."""

    token: str = Field(description="as the user gave it")
    code: str
    direction: Direction
    default_strength: Strength
    strength: Strength = Field(description="strength it was counted at")
    points: int
    counted: bool = Field(description="False if the rule set excludes the code (PP5, BP6)")
    note: str = ""


class RuleCounts(FrozenModel):
    """Counts of counted codes per 2015 tier, at applied strength."""

    pvs: int = 0
    ps: int = 0
    pm: int = 0
    pp: int = 0
    ba: int = 0
    bs: int = 0
    bp: int = 0


class ClassificationResult(FrozenModel):
    """Both systems' classes, the rules that fired, points, and the parameters used."""

    classification: Classification = Field(description="class of the system chosen by `system`")
    system: CombiningSystem
    rules_2015_classification: Classification
    points_classification: Classification
    points: int
    posterior_probability: float = Field(description="Tavtigian 2018, prior 0.10")
    rules_fired: list[str] = Field(description="2015 rules met, conflict rule, points band")
    systems_agree: bool
    disagreement: str | None
    codes: list[AppliedCode]
    counts: RuleCounts
    rule_set: RuleSet
    conflict_mode: ConflictMode
    thresholds: PointsThresholds
    notes: list[str]


def parse_codes(text: str) -> list[str]:
    """Return the code tokens of a comma- or space-separated list (empty items dropped)."""
    return [t for t in re.split(r"[,\s]+", text.strip()) if t]


def apply_code(token: str, rule_set: RuleSet = RuleSet.CLINGEN_SVI) -> AppliedCode:
    """Return ``token`` (``CODE`` or ``CODE_Strength``) read under ``rule_set``.

    Basis: default strengths of Richards 2015; ClinGen SVI reading (PM2 at Supporting unless a
    strength is given; PP5/BP6 not counted). InvalidInputError for unknown codes or strengths
    that do not exist for the code's direction.
    """
    match = _TOKEN.match(token.strip())
    if match is None:
        raise InvalidInputError(
            f"evidence code {token!r} is not an ACMG/AMP code (PVS1, PS1-4, PM1-6, PP1-5, BA1, "
            "BS1-4, BP1-7), optionally with _Supporting, _Moderate, _Strong or _VeryStrong"
        )
    code = match.group(1).upper()
    direction, default, _ = CODES[code]
    given = match.group(2)
    note = ""
    if given is None:
        strength = default
        if rule_set is RuleSet.CLINGEN_SVI and code == "PM2":
            strength = _S
            note = "PM2 applied at Supporting (ClinGen SVI PM2 recommendation v1.0, 2020)"
    else:
        key = given.replace("_", "").lower()
        strength = {s.value.lower(): s for s in Strength}[key]
        if rule_set is RuleSet.CLINGEN_SVI and code == "PM2" and strength is not _S:
            note = f"PM2 taken at {strength} as given; ClinGen SVI recommends Supporting"
    if (strength is _SA) != (code == "BA1"):
        raise InvalidInputError(
            f"evidence code {token!r}: only BA1 is stand-alone, and BA1 takes no modifier"
        )
    if direction is _B and strength is _VS:
        raise InvalidInputError(f"evidence code {token!r}: benign codes have no VeryStrong level")
    counted = True
    if rule_set is RuleSet.CLINGEN_SVI and code in ("PP5", "BP6"):
        counted = False
        note = f"{code} not used under the ClinGen SVI rule set (Biesecker & Harrison 2018)"
    sign = 1 if direction is _P else -1
    points = sign * POINTS_PER_STRENGTH[strength] if counted else 0
    if code == "BA1":
        note = "BA1 is stand-alone benign; scored -8 points by convention"
    return AppliedCode(
        token=token.strip(),
        code=code,
        direction=direction,
        default_strength=default,
        strength=strength,
        points=points,
        counted=counted,
        note=note,
    )


def _counts(codes: list[AppliedCode]) -> RuleCounts:
    tally = {"pvs": 0, "ps": 0, "pm": 0, "pp": 0, "ba": 0, "bs": 0, "bp": 0}
    for c in codes:
        if not c.counted:
            continue
        if c.direction is _P:
            key = {_VS: "pvs", _ST: "ps", _M: "pm", _S: "pp"}[c.strength]
        else:
            key = {_SA: "ba", _ST: "bs", _M: "bp", _S: "bp"}[c.strength]
        tally[key] += 1
    return RuleCounts(**tally)


def pathogenic_rules_met(n: RuleCounts) -> list[str]:
    """Return the Richards 2015 Table 5 Pathogenic rules met by the counts, by name."""
    met: list[str] = []
    ps_with_extra_pvs = n.ps + max(0, n.pvs - 1)
    if n.pvs >= 1 and (
        ps_with_extra_pvs >= 1 or n.pm >= 2 or (n.pm == 1 and n.pp >= 1) or n.pp >= 2
    ):
        met.append("Pathogenic (i): 1 very strong + (>=1 strong | >=2 moderate | "
                   "1 moderate + 1 supporting | >=2 supporting)")  # fmt: skip
    if n.ps >= 2:
        met.append("Pathogenic (ii): >=2 strong")
    if n.ps == 1 and (n.pm >= 3 or (n.pm == 2 and n.pp >= 2) or (n.pm == 1 and n.pp >= 4)):
        met.append("Pathogenic (iii): 1 strong + (>=3 moderate | 2 moderate + >=2 supporting | "
                   "1 moderate + >=4 supporting)")  # fmt: skip
    return met


def likely_pathogenic_rules_met(n: RuleCounts) -> list[str]:
    """Return the Richards 2015 Table 5 Likely pathogenic rules met by the counts, by name."""
    met: list[str] = []
    if n.pvs >= 1 and n.pm == 1:
        met.append("Likely pathogenic (i): 1 very strong + 1 moderate")
    if n.ps == 1 and 1 <= n.pm <= 2:
        met.append("Likely pathogenic (ii): 1 strong + 1-2 moderate")
    if n.ps == 1 and n.pp >= 2:
        met.append("Likely pathogenic (iii): 1 strong + >=2 supporting")
    if n.pm >= 3:
        met.append("Likely pathogenic (iv): >=3 moderate")
    if n.pm == 2 and n.pp >= 2:
        met.append("Likely pathogenic (v): 2 moderate + >=2 supporting")
    if n.pm == 1 and n.pp >= 4:
        met.append("Likely pathogenic (vi): 1 moderate + >=4 supporting")
    return met


def benign_rules_met(n: RuleCounts) -> list[str]:
    """Return the Richards 2015 Table 5 Benign rules met by the counts, by name."""
    met: list[str] = []
    if n.ba >= 1:
        met.append("Benign (i): 1 stand-alone (BA1)")
    if n.bs >= 2:
        met.append("Benign (ii): >=2 strong")
    return met


def likely_benign_rules_met(n: RuleCounts) -> list[str]:
    """Return the Richards 2015 Table 5 Likely benign rules met by the counts, by name."""
    met: list[str] = []
    if n.bs == 1 and n.bp >= 1:
        met.append("Likely benign (i): 1 strong + 1 supporting")
    if n.bp >= 2:
        met.append("Likely benign (ii): >=2 supporting")
    return met


def combine_2015(n: RuleCounts, conflict: ConflictMode) -> tuple[Classification, list[str]]:
    """Return the Richards 2015 class of the counts and the rules that decided it.

    Pathogenic and benign rules are evaluated independently; conflicting evidence gives
    "Uncertain significance" under the ``conflict`` reading (module docstring). Under ``any``,
    BA1 is stand-alone: Benign unless a pathogenic rule is met (as acmg-points reads it).
    """
    p, lp = pathogenic_rules_met(n), likely_pathogenic_rules_met(n)
    b, lb = benign_rules_met(n), likely_benign_rules_met(n)
    path_side = Classification.PATHOGENIC if p else Classification.LIKELY_PATHOGENIC if lp else None
    benign_side = Classification.BENIGN if b else Classification.LIKELY_BENIGN if lb else None
    fired = p + lp + b + lb
    any_path = n.pvs + n.ps + n.pm + n.pp > 0
    any_benign = n.ba + n.bs + n.bp > 0
    if conflict is ConflictMode.ANY and n.ba >= 1 and path_side is None:
        return Classification.BENIGN, [
            *fired,
            "Benign (stand-alone BA1): pathogenic codes applied but no pathogenic rule met",
        ]
    if conflict is ConflictMode.ANY and any_path and any_benign:
        return Classification.UNCERTAIN, [
            *fired,
            "Uncertain significance (conflict, reading 'any'): pathogenic and benign codes "
            "both applied",
        ]
    if path_side is not None and benign_side is not None:
        return Classification.UNCERTAIN, [
            *fired,
            "Uncertain significance (conflict, reading 'both_met'): a pathogenic and a benign "
            "rule are both met",
        ]
    if path_side is not None:
        return path_side, fired
    if benign_side is not None:
        return benign_side, fired
    return Classification.UNCERTAIN, ["Uncertain significance (i): no other rule is met"]


def posterior_probability(points: int, prior: float = PRIOR_PROBABILITY) -> float:
    """Return the posterior probability of pathogenicity of ``points`` (Tavtigian 2018).

    OddsPath = 350 ** (points / 8); posterior = O * P / ((O - 1) * P + 1), prior P = 0.10.
    """
    odds: float = ODDS_PATH_VERY_STRONG ** (points / 8)
    return odds * prior / ((odds - 1) * prior + 1)


def classify(
    codes: list[str],
    *,
    system: CombiningSystem = CombiningSystem.ACMG2015,
    rule_set: RuleSet = RuleSet.CLINGEN_SVI,
    conflict: ConflictMode = ConflictMode.ANY,
    thresholds: PointsThresholds | None = None,
) -> ClassificationResult:
    """Return the ACMG/AMP classification of ``codes`` under both systems.

    ``classification`` is the class of ``system``; both classes, the rules fired, the points
    (Tavtigian 2020), the posterior probability (Tavtigian 2018) and any disagreement are
    reported. InvalidInputError for unknown or repeated codes, or PVS1 with PM4 under the
    ClinGen SVI rule set (Abou Tayoun 2018).
    """
    limits = thresholds or PointsThresholds()
    applied = [apply_code(t, rule_set) for t in codes]
    seen: set[str] = set()
    for c in applied:
        if c.code in seen:
            raise InvalidInputError(f"evidence code {c.code} is given more than once")
        seen.add(c.code)
    notes = [f"{c.code}: {c.note}" for c in applied if c.note]
    if {"PVS1", "PM4"} <= seen:
        message = "PVS1 and PM4 are not combined for one variant (Abou Tayoun et al. 2018)"
        if rule_set is RuleSet.CLINGEN_SVI:
            raise InvalidInputError(message)
        notes.append(message)
    counts = _counts(applied)
    rules_class, rules_fired = combine_2015(counts, conflict)
    points = sum(c.points for c in applied)
    points_class, points_rule = limits.classify(points)
    agree = rules_class == points_class
    disagreement = None
    if not agree:
        disagreement = (
            f"the 2015 rules give {rules_class.value} but the points scale gives "
            f"{points_class.value} ({points} points)"
        )
    chosen = rules_class if system is CombiningSystem.ACMG2015 else points_class
    return ClassificationResult(
        classification=chosen,
        system=system,
        rules_2015_classification=rules_class,
        points_classification=points_class,
        points=points,
        posterior_probability=round(posterior_probability(points), 6),
        rules_fired=[*rules_fired, f"Points (Tavtigian 2020): {points_rule} -> {points_class}"],
        systems_agree=agree,
        disagreement=disagreement,
        codes=applied,
        counts=counts,
        rule_set=rule_set,
        conflict_mode=conflict,
        thresholds=limits,
        notes=notes,
    )


# --- gene-disease validity (ClinGen) --------------------------------------------------------


class GeneValidity(StrEnum):
    """ClinGen gene-disease validity classes (Strande 2017; SOP v9-v11)."""

    DEFINITIVE = "Definitive"
    STRONG = "Strong"
    MODERATE = "Moderate"
    LIMITED = "Limited"
    DISPUTED = "Disputed"
    REFUTED = "Refuted"
    NO_KNOWN = "No known disease relationship"

    @property
    def gencc_id(self) -> str:
        """Return the GenCC classification CURIE (stored as a string; it does not resolve)."""
        numbers = {
            "Definitive": 1, "Strong": 2, "Moderate": 3, "Limited": 4,
            "Disputed": 5, "Refuted": 6, "No known disease relationship": 8,
        }  # fmt: skip
        return f"GENCC:10000{numbers[self.value]}"


INHERITANCE_HPO: dict[str, str] = {
    "autosomal_dominant": "HP:0000006",
    "autosomal_recessive": "HP:0000007",
    "x_linked": "HP:0001417",
    "x_linked_recessive": "HP:0001419",
    "x_linked_dominant": "HP:0001423",
    "mitochondrial": "HP:0001427",
}
"""Mode of inheritance -> HPO term (the identifiers ClinGen curations use)."""

DiseaseId = Annotated[str, StringConstraints(pattern=r"^(MONDO:\d{7}|OMIM:\d{6})$")]


class GeneDiseaseValidity(FrozenModel):
    """One ClinGen gene-disease validity assertion."""

    gene_symbol: str = Field(min_length=1)
    disease_id: DiseaseId = Field(description="MONDO:nnnnnnn or OMIM:nnnnnn")
    inheritance: str = Field(description="one of INHERITANCE_HPO's keys")
    classification: GeneValidity
    hgnc_id: Annotated[str, StringConstraints(pattern=r"^HGNC:\d+$")] | None = None
    gcep: str | None = Field(default=None, description="curating expert panel")
    sop_version: str | None = None
    approved_date: date | None = None
    evidence_url: str | None = None

    @model_validator(mode="after")
    def _known_inheritance(self) -> GeneDiseaseValidity:
        if self.inheritance not in INHERITANCE_HPO:
            allowed = ", ".join(INHERITANCE_HPO)
            raise ValueError(f"inheritance {self.inheritance!r} is not one of: {allowed}")
        return self

    @property
    def inheritance_hpo(self) -> str:
        """Return the HPO term of the mode of inheritance."""
        return INHERITANCE_HPO[self.inheritance]

    @property
    def gencc_id(self) -> str:
        """Return the GenCC CURIE of the classification."""
        return self.classification.gencc_id


def validity_from_scores(
    genetic_points: float, experimental_points: float, *, replicated_over_time: bool
) -> GeneValidity:
    """Return the ClinGen class of a semi-quantitative curation (Strande 2017, SOP v9+).

    Genetic evidence is capped at 12 and experimental at 6; total 0 -> No known disease
    relationship, 0.1-6 Limited, 7-11 Moderate, 12-18 Strong, or Definitive when also replicated
    over time. Disputed and Refuted are expert judgements and are never computed.
    """
    if genetic_points < 0 or experimental_points < 0:
        raise InvalidInputError("gene-disease validity points must be >= 0")
    total = min(genetic_points, 12.0) + min(experimental_points, 6.0)
    if total >= 12:
        return GeneValidity.DEFINITIVE if replicated_over_time else GeneValidity.STRONG
    if total >= 7:
        return GeneValidity.MODERATE
    if total > 0:
        return GeneValidity.LIMITED
    return GeneValidity.NO_KNOWN


# --- Element 1 verdict inputs -----------------------------------------------------------------


class Element1Inputs(FrozenModel):
    """What the pathway engine needs to decide Element 1 (molecular abnormality)."""

    classification: Classification
    gene_validity: GeneValidity | None = Field(description="ClinGen class, e.g. Definitive")
    gene_disease: GeneDiseaseValidity | None = Field(description="the full assertion")
    monogenic: bool
    supports_causality: bool = Field(
        description="P/LP, gene validity in accepted classes, monogenic disease"
    )
    rationale: str


def element1_inputs(
    result: ClassificationResult,
    validity: GeneDiseaseValidity | None,
    *,
    monogenic: bool,
    accepted_validity: tuple[GeneValidity, ...] = (GeneValidity.DEFINITIVE, GeneValidity.STRONG),
) -> Element1Inputs:
    """Return the Element 1 inputs: class, gene validity, monogenicity and a rationale.

    ``supports_causality`` is True when the variant is Pathogenic or Likely pathogenic, the
    gene-disease validity is one of ``accepted_validity`` (DESIGN.md: Definitive, Strong if the
    policy allows) and the disease is monogenic; the policy file makes the final call.
    """
    reasons: list[str] = []
    pathogenic = result.classification in (
        Classification.PATHOGENIC,
        Classification.LIKELY_PATHOGENIC,
    )
    reasons.append(
        f"variant classified {result.classification.value} ({result.system.value}; "
        f"{result.points} points)"
    )
    if result.disagreement:
        reasons.append(f"note: {result.disagreement}")
    valid = validity is not None and validity.classification in accepted_validity
    if validity is None:
        reasons.append("no gene-disease validity given")
    else:
        reasons.append(
            f"{validity.gene_symbol}-{validity.disease_id} validity "
            f"{validity.classification.value} ({validity.gencc_id}), {validity.inheritance}"
        )
    reasons.append("monogenic disease" if monogenic else "disease not shown to be monogenic")
    supports = pathogenic and valid and monogenic
    return Element1Inputs(
        classification=result.classification,
        gene_validity=validity.classification if validity else None,
        gene_disease=validity,
        monogenic=monogenic,
        supports_causality=supports,
        rationale="; ".join(reasons),
    )
