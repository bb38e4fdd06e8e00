"""Elements 1 and 2: agreement with the acmg-points oracle, and speed of the checks.

1. Exhaustive agreement: every set of up to K distinct codes drawn from a pool of 26 codes and
   modified strengths is classified by pmpath (rule set original-2015, both conflict readings)
   and by acmg-points 0.1.2 (MIT); prints the number of sets and of disagreements (points,
   points class, 2015 class), and how often the 2015 rules and the points scale disagree.
2. Speed: map + protein effect + PVS1 classification, and an ABE8e design check, on the demo's
   synthetic CPS1-like gene (3.6 kb), repeated N times.

    .venv/bin/python bench/variants_design.py [--k 4] [--n 200]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from acmg_points.core import classify as oracle  # type: ignore[import-untyped]

from pmpath.demo.records import gene
from pmpath.evidence.design.check import check_design
from pmpath.evidence.design.editors import load_editor
from pmpath.evidence.variants.acmg import ConflictMode, RuleSet, classify
from pmpath.evidence.variants.causality import classify_variant
from pmpath.evidence.variants.transcript import Reference, load_transcript

POOL = [
    "PVS1", "PS1", "PS3", "PS4", "PM1", "PM2", "PM3", "PM5", "PP1", "PP3", "PP4", "BA1", "BS1",
    "BS2", "BS3", "BP1", "BP4", "BP7", "PM2_Supporting", "PVS1_Strong", "PS3_Moderate",
    "PP3_Moderate", "PP3_Strong", "BP4_Strong", "BS3_Supporting", "PM3_Strong",
]  # fmt: skip


def agreement(k: int) -> None:
    sets = mismatch = disagree_systems = 0
    for size in range(k + 1):
        for tokens in itertools.combinations(POOL, size):
            codes = [t.split("_")[0] for t in tokens]
            if len(set(codes)) < len(codes):
                continue
            sets += 1
            for mine, theirs in ((ConflictMode.ANY, "any"), (ConflictMode.BOTH_MET, "both-met")):
                ours = classify(list(tokens), rule_set=RuleSet.ORIGINAL_2015, conflict=mine)
                ref = oracle(list(tokens), conflict=theirs)
                if (
                    ours.points != ref.total
                    or ours.points_classification.value != ref.points_class
                    or ours.rules_2015_classification.value != ref.rules_class
                ):
                    mismatch += 1
                if mine is ConflictMode.ANY and not ours.systems_agree:
                    disagree_systems += 1
    print(f"code sets (<= {k} codes): {sets}; disagreements with acmg-points: {mismatch}")
    print(
        f"2015 rules vs points scale disagree on {disagree_systems} sets "
        f"({disagree_systems / sets:.1%})"
    )


def speed(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fasta, tx_path = gene("DIS-CPS1D").write(Path(tmp))
        tx, ref = load_transcript(tx_path), Reference(fasta)
        editor = load_editor("ABE8e")
        start = time.perf_counter()
        for _ in range(n):
            classify_variant(
                ["PM2_Supporting", "PM3", "PP4"], hgvs="c.1003C>T", transcript=tx, reference=ref
            )
        classify_s = (time.perf_counter() - start) / n
        start = time.perf_counter()
        for _ in range(n):
            check_design(transcript=tx, reference=ref, variant="c.1003C>T", editor=editor,
                         guide=gene("DIS-CPS1D").guides[335])  # fmt: skip
        design_s = (time.perf_counter() - start) / n
        ref.close()
    print(f"classify with mapping, protein effect and PVS1 tree: {classify_s * 1e3:.2f} ms")
    print(f"ABE8e design check (both strands, bystanders):       {design_s * 1e3:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    agreement(args.k)
    speed(args.n)


if __name__ == "__main__":
    main()
