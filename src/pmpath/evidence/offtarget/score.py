"""Off-target site scores (CFD, MIT) and a guide's aggregate specificity.

Methods and references:

- CFD, Cutting Frequency Determination (Doench JG et al., Nat Biotechnol 2016;34:184,
  Supplementary Table 19): the product, over the mismatched protospacer positions, of the
  measured activity of that mismatch type at that position, times the activity of the PAM's last
  two bases. The mismatch type pairs the guide's RNA base (U for T) with the DNA base of the
  target strand, i.e. the complement of the site base read on the guide's strand: guide G facing
  site A is ``rG:dT``. Defined for 20-nt SpCas9-family guides with a 3-nt 3' PAM (N + two bases),
  unbulged sites only. Tables: ``pmpath/data/cfd/`` (see its SOURCE.md).
- MIT, Hsu-Zhang hit score (Hsu PD et al., Nat Biotechnol 2013;31:827; crispr.mit.edu):
  100 x prod(1 - W[p]) x 1 / (((19 - d)/19) x 4 + 1) x 1 / n^2 over the n mismatched positions
  p (1 = PAM-distal), d being the mean distance between adjacent mismatches ((last - first) /
  (n - 1); 19 when n < 2); 100 for a perfect match. Convention pinned here: the PAM does not
  enter the MIT score (the formula has no PAM term); defined for 20-nt guides, unbulged sites.
- Aggregate guide specificity (crispr.mit.edu guide score; CRISPOR's CFD specificity,
  Haeussler M et al., Genome Biol 2016;17:148): 100 / (100 + sum of the off-target hit scores)
  for MIT, and 1 / (1 + sum of the off-target CFD scores) for CFD, both as fractions in (0, 1].

Heavy lifting: none; a few products over tables. The numbers are facts from the papers; no code
from CRISPOR, CRISPRseek or crisprScore is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources

MIT_WEIGHTS: tuple[float, ...] = (
    0, 0, 0.014, 0, 0, 0.395, 0.317, 0, 0.389, 0.079,
    0.445, 0.508, 0.613, 0.851, 0.732, 0.828, 0.615, 0.804, 0.685, 0.583,
)  # fmt: skip
"""Hsu et al. 2013 position weights, positions 1..20 from the PAM-distal end."""

_COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A"}


@cache
def cfd_tables() -> tuple[dict[tuple[str, str, int], float], dict[str, float]]:
    """Return the CFD mismatch table {(rna base, dna base, position): activity} and the PAM
    table {last two PAM bases: activity} shipped in ``pmpath/data/cfd``."""
    folder = resources.files("pmpath.data") / "cfd"
    mismatch: dict[tuple[str, str, int], float] = {}
    for line in (folder / "cfd_mismatch.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        rna, dna, position, activity = line.split("\t")
        mismatch[(rna, dna, int(position))] = float(activity)
    pam: dict[str, float] = {}
    for line in (folder / "cfd_pam.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        bases, activity = line.split("\t")
        pam[bases] = float(activity)
    return mismatch, pam


def cfd_applies(guide_length: int, pam_pattern: str, pam_side: str) -> bool:
    """True when CFD is defined: a 20-nt guide with a 3-nt 3' PAM (SpCas9 family)."""
    return guide_length == 20 and len(pam_pattern) == 3 and pam_side == "3prime"


def cfd_score(guide: str, site_protospacer: str, site_pam: str) -> float:
    """Return the CFD score (Doench 2016) of a 20-nt guide against an unbulged site.

    ``site_protospacer`` is the site's 20 bases read 5'->3' on the guide's strand (any case),
    ``site_pam`` its PAM (the last two bases are scored). A genome N (or other unknown letter)
    scores as the guide's own base would: the upper bound over what the base may be, so an
    unknown base never makes a site look safer. ValueError if the lengths are wrong.
    """
    guide, site = guide.upper(), site_protospacer.upper()
    if len(guide) != 20 or len(site) != 20 or len(site_pam) < 2:
        raise ValueError("CFD needs a 20-nt guide, a 20-nt site and a PAM")
    mismatch, pam = cfd_tables()
    score = 1.0
    for position, (g, s) in enumerate(zip(guide, site, strict=True), start=1):
        if g != s and s in _COMPLEMENT:
            score *= mismatch[(g.replace("T", "U"), _COMPLEMENT[s], position)]
    pam_bases = site_pam[-2:].upper()
    if any(b not in "ACGT" for b in pam_bases):  # unknown: the best PAM it could be

        def fits(key: str) -> bool:
            return all(b not in "ACGT" or a == b for a, b in zip(key, pam_bases, strict=True))

        return score * max(v for k, v in pam.items() if fits(k))
    return score * pam[pam_bases]


def mit_score(guide: str, site_protospacer: str) -> float:
    """Return the MIT hit score (Hsu 2013), 0-100, of a 20-nt guide against an unbulged site
    (PAM not included: see the module docstring); a genome N is scored as a match (the upper
    bound, as in :func:`cfd_score`). ValueError if the lengths are not 20."""
    if len(guide) != 20 or len(site_protospacer) != 20:
        raise ValueError("the MIT score needs a 20-nt guide and a 20-nt site")
    positions = [
        p
        for p, (g, s) in enumerate(zip(guide.upper(), site_protospacer.upper(), strict=True))
        if g != s and s in "ACGT"
    ]
    n = len(positions)
    if n == 0:
        return 100.0
    weight = 1.0
    for p in positions:
        weight *= 1.0 - MIT_WEIGHTS[p]
    mean_distance = (positions[-1] - positions[0]) / (n - 1) if n > 1 else 19.0
    return 100.0 * weight / (((19.0 - mean_distance) / 19.0) * 4.0 + 1.0) / (n * n)


def mit_specificity(hit_scores: Iterable[float]) -> float:
    """Return the MIT guide specificity 100 / (100 + sum of off-target hit scores), a fraction."""
    return 100.0 / (100.0 + sum(hit_scores))


def cfd_specificity(cfd_scores: Iterable[float]) -> float:
    """Return the CFD guide specificity 1 / (1 + sum of off-target CFD scores) (CRISPOR's
    100 / (100 + sum of 100 x CFD)), a fraction."""
    return 1.0 / (1.0 + sum(cfd_scores))
