"""Typed results of editing quantification (frozen pydantic models, JSON-serialisable).

Fractions are of aligned reads unless the field name says otherwise; positions are 1-based
amplicon positions unless named ``*_index`` (0-based).
"""

from __future__ import annotations

from pydantic import Field

from pmpath.domain.contract import AnalysisResult, FrozenModel, SummaryRow

CATEGORIES: tuple[str, ...] = (
    "indel",
    "intended_edit",
    "bystander_only",
    "partial_edit",
    "unmodified",
)
"""The mutually exclusive read outcomes, in reporting order (``partial_edit``: prime editing or
HDR only, part of the expected edit without an unintended indel)."""


class ReadCounts(FrozenModel):
    """What happened to the reads of one sample (a pair counts once).

    Every read is either ``aligned`` or in ``not_counted`` under its reason, so
    ``total == aligned + sum(not_counted.values())``: ``failed_merge`` (a pair whose reads do not
    overlap), ``low_mean_quality``, ``too_many_unknown_bases`` (more than the allowed fraction of
    bases below the base-quality threshold), ``no_seed`` (shares no 12-mer with any amplicon),
    ``below_identity``, ``does_not_span`` (misses more than the allowed bases at an amplicon
    end), ``ambiguous_amplicon`` (two amplicons fit equally well). ``unassigned`` is the sum of
    the last four.
    """

    total: int
    merged: int | None
    merge_rate: float | None
    passed_filter: int
    aligned: int
    unassigned: int
    not_counted: dict[str, int] = Field(default_factory=dict)


class Outcomes(FrozenModel):
    """The outcome categories as fractions of aligned reads (they sum to 1)."""

    indel: float
    intended_edit: float
    bystander_only: float
    unmodified: float
    partial_edit: float = 0.0


class OutcomeCounts(FrozenModel):
    """The outcome categories as read counts."""

    indel: int
    intended_edit: int
    bystander_only: int
    unmodified: int
    partial_edit: int = 0


class OutcomeDetails(FrozenModel):
    """What the indel reads also show, as read counts (each a part of ``indel``).

    ``indel_with_intended_edit``: the intended edit is there too (CRISPResso2's "imperfect HDR"
    in HDR mode); ``scaffold_incorporation``: reverse transcription ran on into the pegRNA
    scaffold (prime editing with the pegRNA given); ``frameshift`` / ``in_frame``: indel reads
    whose window indels in the coding region change the length by a non-multiple / a multiple
    of 3 (None without a coding region).
    """

    indel_with_intended_edit: int = 0
    scaffold_incorporation: int = 0
    frameshift: int | None = None
    in_frame: int | None = None


class AlleleRow(FrozenModel):
    """One allele of the quantification window: the read's bases (``-`` deleted, lower case
    inserted, ``N`` unknown), its category, its changes, and how many reads carry it."""

    allele_window: str
    category: str
    changes: str
    reads: int
    fraction_of_aligned_reads: float


class PositionRow(FrozenModel):
    """Per-position counts and frequencies over one amplicon, with both denominators.

    ``informative_reads`` are aligned reads with a called base (A, C, G or T) at the position:
    reads that delete it or have an unknown base there are not informative about substitutions.
    """

    position: int
    reference_base: str
    protospacer_position: int | None
    in_window: bool
    a: int
    c: int
    g: int
    t: int
    n: int
    deleted: int
    inserted_after: int
    aligned_reads: int
    informative_reads: int
    substitution_fraction_of_aligned_reads: float
    substitution_fraction_of_informative_reads: float
    conversion_fraction_of_aligned_reads: float | None
    conversion_fraction_of_informative_reads: float | None
    deletion_fraction_of_aligned_reads: float
    insertion_fraction_of_aligned_reads: float


class IndelCount(FrozenModel):
    """Reads carrying one indel (in the window), by HGVS-like label."""

    label: str
    kind: str
    start_position: int
    length: int
    reads: int


class AmpliconQuantification(FrozenModel):
    """Everything counted for one amplicon of one sample."""

    name: str
    on_target: bool
    length: int
    guide_strand: str
    guide_site_mismatches: int
    cut_after_position: int
    window_start_position: int
    window_end_position: int
    target_position: int | None
    conversion: str | None
    aligned_reads: int
    outcome_counts: OutcomeCounts
    outcomes: Outcomes
    outcome_details: OutcomeDetails = OutcomeDetails()
    intended_edit_clean: float
    intended_edit_clean_reads: int
    target_unknown_reads: int
    indel_size_distribution: dict[str, int]
    top_indels: list[IndelCount]
    alleles: list[AlleleRow]
    allele_table: list[tuple[str, str, str, int]] = Field(default_factory=list, exclude=True)
    """Every allele tracked, most frequent first, as (allele_window, category, changes, reads)
    (for alleles.tsv; plain tuples, and not serialised: it can hold up to ``max_alleles`` rows,
    so stored results keep only ``alleles``, the top rows)."""
    distinct_alleles: int
    reads_in_untracked_alleles: int
    positions: list[PositionRow] = Field(default_factory=list)  # not in summary.json


class SampleQuantification(FrozenModel):
    """One sample (treated or control): its read counts and each amplicon's result."""

    reads: ReadCounts
    unique_sequences: int
    aligned_by_wfa: int
    amplicons: list[AmpliconQuantification]

    @property
    def on_target(self) -> AmpliconQuantification:
        """Return the on-target amplicon's result (the first amplicon)."""
        return self.amplicons[0]


class CategoryComparison(FrozenModel):
    """Treated against control for one outcome category (or one position)."""

    treated_reads: int
    treated_total: int
    control_reads: int
    control_total: int
    treated_fraction: float
    control_fraction: float
    net_fraction: float
    p_value: float
    detection_limit_fraction: float | None
    above_background: bool


class PositionComparison(FrozenModel):
    """Treated against control at one amplicon position (conversion or indel frequency)."""

    position: int
    measure: str
    treated_fraction: float
    control_fraction: float
    net_fraction: float
    p_value: float
    q_value: float
    detection_limit_fraction: float | None
    above_background: bool


class NetComparison(FrozenModel):
    """Treated minus control: per category, per position, and the verdict for the site.

    ``indel``, ``intended_edit``, ``bystander_only`` and ``unmodified`` are the net fractions
    (treated minus control) and ``<category>_significant`` whether the category is above the
    control's background: the flat fields that policies test (``net.intended_edit``); the
    details are in ``categories``.
    """

    indel: float
    intended_edit: float
    bystander_only: float
    unmodified: float
    partial_edit: float = 0.0
    indel_significant: bool
    intended_edit_significant: bool
    bystander_only_significant: bool
    test: str
    alpha: float
    categories: dict[str, CategoryComparison]
    positions_above_background: list[PositionComparison]
    edited_above_background: bool
    verdict: str


class EditingQuantification(AnalysisResult):
    """The result of an editing quantification (``pmpath editing quantify``; ``summary.json``
    holds it without the per-position tables). Provenance (method, parameters, input sha256s,
    library versions) comes from :class:`~pmpath.domain.contract.AnalysisResult`."""

    pmpath_version: str = ""
    reads: ReadCounts
    outcomes: Outcomes
    intended_edit_clean: float
    amplicons: list[AmpliconQuantification]
    control: SampleQuantification | None
    net: NetComparison | None
    per_amplicon_net: dict[str, NetComparison]
    position_comparisons: dict[str, list[PositionComparison]] = Field(default_factory=dict)

    def summary_table(self) -> list[SummaryRow]:
        """One row per amplicon of the treated sample: reads aligned, each category's fraction of
        aligned reads, the clean intended edit and, with a control, the verdict."""
        rows: list[SummaryRow] = []
        for amplicon in self.amplicons:
            row: SummaryRow = {"amplicon": amplicon.name, "aligned_reads": amplicon.aligned_reads}
            for category in CATEGORIES:
                row[f"{category}_fraction"] = getattr(amplicon.outcomes, category)
            row["intended_edit_clean_fraction"] = amplicon.intended_edit_clean
            net = self.per_amplicon_net.get(amplicon.name)
            row["verdict"] = None if net is None else net.verdict
            rows.append(row)
        return rows
