"""Amplicon geometry: where the guide sits, the cut, the quantification window, the target base.

Computes, for each amplicon, the protospacer's strand and span, the PAM, the predicted cut (the
boundary between two amplicon bases where the nuclease cuts, or the nick of a base or prime
editor), the quantification window (protospacer plus PAM widened by ``window_flank`` bases on each
side) and, for base editors, the target base and the other convertible bases of the editor's
activity window (on an off-target amplicon there is no target: every convertible base of the
window counts as a bystander, so any conversion there is ``bystander_only``). All coordinates
are 0-based amplicon indices; a *boundary* ``b`` lies between bases ``b - 1`` and ``b``.

Method: the guide is searched exactly on both strands (Clement et al., Nat Biotechnol 2019 do the
same); for off-target amplicons of a follow-up panel, where the site differs from the guide, the
best ungapped match on either strand with at most ``max_offtarget_mismatches`` mismatches is used
(numpy does the sliding comparison). Protospacer positions count from the PAM-distal 5' end
(1..len(guide)), the convention of :mod:`pmpath.evidence.design.editors`. Plain Python and numpy; no
library computes this layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from pmpath.domain.errors import InvalidInputError
from pmpath.domain.sequence import reverse_complement


def clean_dna(sequence: str, what: str) -> str:
    """Return ``sequence`` upper-cased without whitespace, U read as T (an RNA guide);
    InvalidInputError naming ``what`` if it holds anything but A, C, G, T (and N) or is empty."""
    cleaned = "".join(sequence.split()).upper().replace("U", "T")
    if not cleaned:
        raise InvalidInputError(f"{what} is empty")
    bad = set(cleaned) - set("ACGTN")
    if bad:
        raise InvalidInputError(f"{what} has characters that are not DNA: {''.join(sorted(bad))}")
    return cleaned


@dataclass(frozen=True)
class EditSpec:
    """What the product is meant to do, independent of any amplicon.

    ``conversion`` (e.g. "A>G") and ``activity_window`` (1-based protospacer positions) are on the
    protospacer strand; ``target_position`` is a 1-based protospacer position (base editor) or
    None. ``expected_amplicon`` is the edited on-target amplicon (prime editing, HDR).
    ``nicking_guide`` is the PE3/PE3b second guide (its nick widens the window, so indels
    between the nicks count); ``pegrna_extension`` (RT template + PBS, 5'->3', RNA or DNA) and
    ``pegrna_scaffold`` locate the flap's end and let scaffold incorporation be told;
    ``coding_region`` (1-based, inclusive amplicon positions) splits indels into frameshift and
    in frame.
    """

    mode: Literal["nuclease", "base-editor", "prime", "hdr"]
    pam_length: int = 3
    pam_side: Literal["3prime", "5prime"] = "3prime"
    cut_after: int | None = None
    conversion: str | None = None
    activity_window: tuple[int, int] | None = None
    target_position: int | None = None
    expected_amplicon: str | None = None
    window_flank: int = 10
    nicking_guide: str | None = None
    pegrna_extension: str | None = None
    pegrna_scaffold: str | None = None
    coding_region: tuple[int, int] | None = None


@dataclass(frozen=True)
class AmpliconGeometry:
    """One amplicon laid out around its guide site (0-based amplicon coordinates)."""

    name: str
    sequence: str
    strand: Literal["+", "-"]
    protospacer_start: int
    protospacer_end: int
    site_mismatches: int
    cut_boundary: int
    window_start: int
    window_end: int
    conversion_from: str | None
    conversion_to: str | None
    target_index: int | None
    bystander_indices: tuple[int, ...]
    guide_length: int
    coding_region: tuple[int, int] | None = None
    """0-based half-open amplicon span of the coding sequence, if given."""

    @property
    def length(self) -> int:
        """Return the amplicon length in bases."""
        return len(self.sequence)

    def protospacer_index(self, position: int) -> int:
        """Return the amplicon index of 1-based protospacer ``position``."""
        if self.strand == "+":
            return self.protospacer_start + position - 1
        return self.protospacer_end - position

    def protospacer_position(self, index: int) -> int | None:
        """Return the 1-based protospacer position at amplicon ``index``, or None outside it."""
        if not self.protospacer_start <= index < self.protospacer_end:
            return None
        if self.strand == "+":
            return index - self.protospacer_start + 1
        return self.protospacer_end - index


def _find_site(guide: str, amplicon: str, max_mismatches: int) -> tuple[int, str, int] | None:
    """Return (start, strand, mismatches) of the best match of ``guide`` in ``amplicon``."""
    for strand, probe in (("+", guide), ("-", reverse_complement(guide))):
        start = amplicon.find(probe)
        if start >= 0:
            return start, strand, 0
    if max_mismatches <= 0 or len(amplicon) < len(guide):
        return None
    amp = np.frombuffer(amplicon.encode("ascii"), dtype=np.uint8)
    windows = np.lib.stride_tricks.sliding_window_view(amp, len(guide))
    best: tuple[int, str, int] | None = None
    for strand, probe in (("+", guide), ("-", reverse_complement(guide))):
        p = np.frombuffer(probe.encode("ascii"), dtype=np.uint8)
        mismatches = (windows != p).sum(axis=1)
        start = int(mismatches.argmin())
        count = int(mismatches[start])
        if count <= max_mismatches and (best is None or count < best[2]):
            best = (start, strand, count)
    return best


def _count(text: str, probe: str) -> int:
    """Return how many times ``probe`` occurs in ``text``, overlaps included."""
    count, start = 0, text.find(probe)
    while start >= 0:
        count += 1
        start = text.find(probe, start + 1)
    return count


def _coding_region(name: str, length: int, spec: EditSpec) -> tuple[int, int] | None:
    """Return the 0-based half-open coding span from the spec's 1-based inclusive one."""
    if spec.coding_region is None:
        return None
    first, last = spec.coding_region
    if not 1 <= first <= last <= length:
        raise InvalidInputError(
            f"amplicon {name!r}: coding region {first}-{last} is not within the amplicon "
            f"(1-{length}, start <= end)"
        )
    return first - 1, last


def layout_amplicon(
    name: str,
    amplicon: str,
    guide: str,
    spec: EditSpec,
    *,
    on_target: bool,
    max_offtarget_mismatches: int = 6,
) -> AmpliconGeometry:
    """Return the geometry of ``amplicon`` around ``guide`` under ``spec``.

    The on-target amplicon must hold the guide exactly on one strand; an off-target amplicon may
    hold it with up to ``max_offtarget_mismatches`` mismatches. InvalidInputError names the
    amplicon record if the guide is not found, or if the target base is not the conversion's
    source base.
    """
    found = _find_site(guide, amplicon, 0 if on_target else max_offtarget_mismatches)
    if found is None:
        allowed = "exactly" if on_target else f"with <= {max_offtarget_mismatches} mismatches"
        raise InvalidInputError(
            f"amplicon {name!r}: guide {guide} not found {allowed} on either strand"
        )
    start, strand, mismatches = found
    n = len(guide)
    if on_target:
        hits = _count(amplicon, guide) + _count(amplicon, reverse_complement(guide))
        if hits > 1:
            raise InvalidInputError(
                f"amplicon {name!r}: guide {guide} occurs {hits} times (both strands counted); "
                "the cut site is ambiguous"
            )
    for label, value in (
        ("target_position", spec.target_position),
        *(("activity_window", v) for v in (spec.activity_window or ())),
    ):
        if value is not None and not 1 <= value <= n:
            raise InvalidInputError(f"{label} {value} is outside the {n}-nt protospacer (1-{n})")
    end = start + n
    cut_after = spec.cut_after if spec.cut_after is not None else n - 3
    pam = spec.pam_length
    if strand == "+":
        cut = start + cut_after
        pam_before = spec.pam_side == "5prime"
        lo = start - (pam if pam_before else 0)
        hi = end + (0 if pam_before else pam)
    else:
        cut = end - cut_after
        pam_before = spec.pam_side == "5prime"
        lo = start - (0 if pam_before else pam)
        hi = end + (pam if pam_before else 0)
    window_start = max(0, lo - spec.window_flank)
    window_end = min(len(amplicon), hi + spec.window_flank)
    conv_from = conv_to = None
    target_index: int | None = None
    bystanders: tuple[int, ...] = ()
    geometry = AmpliconGeometry(
        name=name,
        sequence=amplicon,
        strand=strand,  # type: ignore[arg-type]
        protospacer_start=start,
        protospacer_end=end,
        site_mismatches=mismatches,
        cut_boundary=cut,
        window_start=window_start,
        window_end=window_end,
        conversion_from=None,
        conversion_to=None,
        target_index=None,
        bystander_indices=(),
        guide_length=n,
        coding_region=_coding_region(name, len(amplicon), spec) if on_target else None,
    )
    if spec.mode == "base-editor" and spec.conversion and spec.activity_window:
        source, _, product = spec.conversion.partition(">")
        if strand == "-":
            source, product = reverse_complement(source), reverse_complement(product)
        conv_from, conv_to = source, product
        first, last = spec.activity_window
        indices = [geometry.protospacer_index(p) for p in range(first, last + 1)]
        convertible = [i for i in indices if amplicon[i] == source]
        if not on_target:
            target_index = None  # no intended edit off target: every conversion is unintended
        elif spec.target_position is not None:
            target_index = geometry.protospacer_index(spec.target_position)
            if amplicon[target_index] != source:
                raise InvalidInputError(
                    f"amplicon {name!r}: target_position {spec.target_position} is "
                    f"{amplicon[target_index]} on the amplicon, not {source} (conversion "
                    f"{spec.conversion} on the guide's strand)"
                )
        elif len(convertible) == 1:
            target_index = convertible[0]
        else:
            where = ", ".join(str(geometry.protospacer_position(i)) for i in convertible) or "none"
            raise InvalidInputError(
                f"amplicon {name!r}: the activity window {first}-{last} has {len(convertible)} "
                f"convertible bases (protospacer positions {where}); give target_position"
            )
        bystanders = tuple(i for i in convertible if i != target_index)
        geometry = AmpliconGeometry(
            **{
                **geometry.__dict__,
                "conversion_from": conv_from,
                "conversion_to": conv_to,
                "target_index": target_index,
                "bystander_indices": bystanders,
            }
        )
    return geometry
