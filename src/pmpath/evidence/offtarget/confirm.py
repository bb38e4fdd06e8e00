"""Confirmation of nominated off-target sites by targeted sequencing, per site.

What it computes: from an off-target nomination (:mod:`.nominate`) and the quantification of its
amplicon panel (:mod:`.panel`) in treated and control cells (``pmpath editing quantify``,
:mod:`pmpath.evidence.editing.quantify`), one row per sequenced site: the share of aligned reads
with any edit (indel, conversion) in treated and in control cells, the difference, and whether
the site is edited above background, with the candidate's mismatches, bulge and CFD beside it.

Method: the treated-versus-control test is the editing module's (one-sided Fisher's exact test
per outcome category with Bonferroni over categories, and per position with Benjamini-Hochberg;
the approach of CRISPRessoCompare and CRISPECTOR), taken as it stands; this module only joins it
to the candidates, so the FDA draft guidance's "nominated in silico, confirmed by targeted
sequencing" chain is one record. Assumption: panel amplicons are named by site id (as
:func:`pmpath.evidence.offtarget.panel.panel_fasta` writes them).

Heavy lifting: none here (the statistics live in :mod:`pmpath.evidence.editing.stats`).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError, computed_field

from pmpath.domain.contract import AnalysisResult, FrozenModel, SummaryRow
from pmpath.domain.errors import InvalidInputError, NotFoundError
from pmpath.evidence.editing.results import EditingQuantification
from pmpath.evidence.offtarget.nominate import OfftargetNomination


class SiteConfirmation(FrozenModel):
    """One sequenced site: edited share of aligned reads, treated against control."""

    site_id: str
    on_target: bool
    mismatches: int
    bulge_type: str
    cfd: float | None
    treated_aligned_reads: int
    control_aligned_reads: int
    treated_edited_fraction_of_aligned_reads: float
    control_edited_fraction_of_aligned_reads: float
    net_edited_fraction: float
    above_background: bool
    verdict: str


class OfftargetConfirmation(AnalysisResult):
    """The follow-up of a nomination: every sequenced site, and the off-targets confirmed
    (``n_sites``: the candidates the nomination holds; ``n_sites_sequenced``: those in the
    panel)."""

    guide: str
    candidate_list_sha256: str
    n_sites: int
    n_sites_sequenced: int
    sites: list[SiteConfirmation]
    off_targets_above_background: list[str]
    on_target_edited: bool | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def n_off_targets_above_background(self) -> int:
        """How many sequenced off-target sites are edited above control (what a policy caps)."""
        return len(self.off_targets_above_background)

    def summary_table(self) -> list[SummaryRow]:
        """One row per sequenced site: treated and control edited share, net, the call."""
        return [
            {
                "site_id": s.site_id,
                "on_target": s.on_target,
                "mismatches": s.mismatches,
                "cfd": s.cfd,
                "treated_edited_fraction": s.treated_edited_fraction_of_aligned_reads,
                "control_edited_fraction": s.control_edited_fraction_of_aligned_reads,
                "net_edited_fraction": s.net_edited_fraction,
                "above_background": s.above_background,
            }
            for s in self.sites
        ]


def confirm_sites(
    nomination: OfftargetNomination, quantification: EditingQuantification
) -> OfftargetConfirmation:
    """Return the per-site confirmation of the nominated sites that were sequenced.

    Joins the quantification's amplicons to the nomination's sites by name (= site id).
    InvalidInputError if an amplicon is not a site of the nomination or there is no control
    (a confirmation needs treated and control cells).
    """
    if quantification.control is None:
        raise InvalidInputError("confirming off-target sites needs control reads")
    by_id = {s.site_id: s for s in nomination.sites}
    rows: list[SiteConfirmation] = []
    controls = {a.name: a for a in quantification.control.amplicons}
    guide = ""
    for treated in quantification.amplicons:
        site = by_id.get(treated.name)
        if site is None:
            raise InvalidInputError(
                f"amplicon {treated.name!r} is not a site of the nomination "
                f"(candidate list {nomination.candidate_list_sha256[:12]})"
            )
        guide = site.guide
        control = controls[treated.name]
        net = quantification.per_amplicon_net.get(treated.name)
        t_edit = 1.0 - treated.outcomes.unmodified if treated.aligned_reads else 0.0
        c_edit = 1.0 - control.outcomes.unmodified if control.aligned_reads else 0.0
        rows.append(
            SiteConfirmation(
                site_id=site.site_id,
                on_target=site.on_target,
                mismatches=site.mismatches,
                bulge_type=site.bulge_type,
                cfd=site.cfd,
                treated_aligned_reads=treated.aligned_reads,
                control_aligned_reads=control.aligned_reads,
                treated_edited_fraction_of_aligned_reads=t_edit,
                control_edited_fraction_of_aligned_reads=c_edit,
                net_edited_fraction=t_edit - c_edit,
                above_background=bool(net and net.edited_above_background),
                verdict=net.verdict if net else "no comparison",
            )
        )
    on = next((r for r in rows if r.on_target), None)
    return OfftargetConfirmation(
        guide=guide,
        candidate_list_sha256=nomination.candidate_list_sha256,
        n_sites=nomination.n_sites,
        n_sites_sequenced=len(rows),
        sites=rows,
        off_targets_above_background=[
            r.site_id for r in rows if r.above_background and not r.on_target
        ],
        on_target_edited=on.above_background if on else None,
    )


def read_quantification_summary(path: Path) -> EditingQuantification:
    """Return the quantification in a ``summary.json`` written by ``pmpath editing quantify``
    (which leaves out the per-position tables; they are not needed here). InvalidInputError
    for a file that is not such a summary; NotFoundError if it does not exist."""
    if not path.is_file():
        raise NotFoundError(f"quantification summary {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        samples = [data.get("amplicons", [])]
        if isinstance(data.get("control"), dict):
            samples.append(data["control"].get("amplicons", []))
        for amplicons in samples:
            for amplicon in amplicons:
                amplicon.setdefault("positions", [])
        return EditingQuantification.model_validate(data)
    except (ValueError, AttributeError, TypeError) as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            reason = ".".join(str(p) for p in first["loc"]) + ": " + first["msg"]
        else:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInputError(
            f"{path} is not a summary.json of `pmpath editing quantify` ({reason})"
        ) from None
