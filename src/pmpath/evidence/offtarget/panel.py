"""Follow-up panel: the top candidate sites of a nomination as amplicons for targeted sequencing.

What it computes: for one guide of an off-target nomination (:mod:`.nominate`), the on-target
site and the ``top`` highest-risk off-target sites, each as the genome sequence of the site plus
``flank_bp`` on each side (+ strand; primer-free: primers are designed later on these regions),
with an alternative-allele site's variant written into its amplicon. The FASTA has one record
per amplicon named by its site id, the on-target first: the form
``pmpath editing quantify --amplicon PANEL.fa`` takes, which then quantifies treated versus
control reads per site and flags those above background.

Rules: an amplicon that overlaps one already in the panel, or has the same sequence, is left out
(reads could not be told apart); so is a site whose guide match inside the amplicon needs more
than ``MAX_UNGAPPED_MISMATCHES`` mismatches without gaps (a bulged site the quantifier cannot
lay out); each left-out site is listed with the reason. Sequences are read by random access
(pyfaidx, :meth:`pmpath.evidence.offtarget.genome.Genome.fetch`), not a pass over the genome.

Heavy lifting: none beyond the genome reader; selection is a loop over the ranked sites.
"""

from __future__ import annotations

from pathlib import Path

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.sequence import reverse_complement
from pmpath.evidence.offtarget.genome import Genome
from pmpath.evidence.offtarget.nominate import OfftargetNomination, OfftargetSite

MAX_UNGAPPED_MISMATCHES = 6
"""Off-target amplicons must hold the guide with at most this many mismatches, ungapped (the
limit of ``pmpath editing quantify`` when it lays out an off-target amplicon)."""


class Amplicon(FrozenModel):
    """One amplicon of the panel (genome coordinates 0-based, half-open, + strand)."""

    name: str
    chrom: str
    start: int
    end: int
    on_target: bool
    variant: str | None
    sequence: str


class AmpliconPanel(FrozenModel):
    """The amplicons of one guide, on-target first, and the candidates left out."""

    guide: str
    guide_sequence: str
    flank_bp: int
    amplicons: list[Amplicon]
    left_out: dict[str, str]


def _best_ungapped(guide: str, amplicon: str) -> int:
    best = len(guide)
    for probe in (guide, reverse_complement(guide)):
        for i in range(len(amplicon) - len(probe) + 1):
            mm = sum(a != b for a, b in zip(amplicon[i : i + len(probe)], probe, strict=True))
            best = min(best, mm)
    return best


def amplicon_panel(
    nomination: OfftargetNomination,
    genome_path: Path,
    *,
    guide: str | None = None,
    top: int = 24,
    flank_bp: int = 100,
) -> AmpliconPanel:
    """Return the follow-up amplicon panel of ``guide`` (default: the first guide).

    The on-target site first, then up to ``top`` off-target sites in the nomination's risk
    order (module docstring for the rules). InvalidInputError if the guide is unknown, has no
    on-target site, or ``top``/``flank_bp`` are out of range.
    """
    if not 0 <= top <= 1000:
        raise InvalidInputError(f"panel size (top sites) {top} is not in 0..1000")
    if not 0 <= flank_bp <= 5000:
        raise InvalidInputError(f"panel flank {flank_bp} bp is not in 0..5000")
    names = [g.name for g in nomination.guides]
    chosen = guide if guide is not None else names[0]
    summary = next((g for g in nomination.guides if g.name == chosen), None)
    if summary is None:
        raise InvalidInputError(f"guide {chosen!r} is not in the nomination ({', '.join(names)})")
    sites = [s for s in nomination.sites if s.guide == chosen]
    on_target = next((s for s in sites if s.on_target), None)
    if on_target is None:
        raise InvalidInputError(
            f"guide {chosen!r} has no on-target site in the nomination (no perfect match): "
            "pin one by its position (on_target CHROM:START)"
        )
    candidates = [on_target] + [s for s in sites if not s.on_target]
    regions = [(s.chrom, max(s.start - flank_bp, 0), s.end + flank_bp) for s in candidates]
    sequences = Genome(genome_path).fetch(regions)
    amplicons: list[Amplicon] = []
    left_out: dict[str, str] = {}
    seen: set[str] = set()
    for site, region in zip(candidates, regions, strict=True):
        if len(amplicons) > top:
            break
        chrom, start, _ = region
        end = start + len(sequences[region])
        sequence = _with_variant(sequences[region], site, start)
        reason = None
        if any(a.chrom == chrom and a.start < end and start < a.end for a in amplicons):
            reason = "overlaps an amplicon already in the panel"
        elif sequence in seen:
            reason = "same sequence as an amplicon already in the panel"
        elif (
            not site.on_target
            and _best_ungapped(summary.sequence, sequence) > MAX_UNGAPPED_MISMATCHES
        ):
            reason = f"guide not within {MAX_UNGAPPED_MISMATCHES} ungapped mismatches (bulge)"
        if reason is not None:
            left_out[site.site_id] = reason
            continue
        seen.add(sequence)
        amplicons.append(
            Amplicon(
                name=site.site_id,
                chrom=chrom,
                start=start,
                end=end,
                on_target=site.on_target,
                variant=site.variant,
                sequence=sequence,
            )
        )
    return AmpliconPanel(
        guide=chosen,
        guide_sequence=summary.sequence,
        flank_bp=flank_bp,
        amplicons=amplicons,
        left_out=left_out,
    )


def _with_variant(sequence: str, site: OfftargetSite, region_start: int) -> str:
    """The reference amplicon with the site's alternative allele written in (if any)."""
    if site.variant is None:
        return sequence
    _, pos_text, alleles = site.variant.rsplit(":", 2)
    ref, alt = alleles.split(">")
    offset = int(pos_text) - 1 - region_start
    if offset < 0 or offset + len(ref) > len(sequence):
        return sequence
    return sequence[:offset] + alt + sequence[offset + len(ref) :]


def panel_fasta(panel: AmpliconPanel, *, line_bp: int = 60) -> str:
    """Return the panel as FASTA text: one record per amplicon, named by site id, on-target
    first, with the region (and variant) after the name."""
    lines: list[str] = []
    for a in panel.amplicons:
        note = f"{a.chrom}:{a.start}-{a.end}" + (f" variant={a.variant}" if a.variant else "")
        role = "on-target" if a.on_target else "off-target"
        lines.append(f">{a.name} {role} {note}")
        lines.extend(a.sequence[i : i + line_bp] for i in range(0, len(a.sequence), line_bp))
    return "\n".join(lines) + "\n"
