"""Editing quantification on realistic reads (issue 14): one test per failure seen on real data.

Reads come from :func:`pmpath.simulate.amplicon.simulate_sequencing` (calibrated, position-dependent
qualities; overhangs, adapter read-through, low-quality reads), with the truth of every read in
its name. Each test states the failure it guards against; each failed before its fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pmpath.domain.sequence import reverse_complement
from pmpath.evidence.editing.geometry import EditSpec
from pmpath.evidence.editing.quantify import QuantifySettings, layout, quantify_sample
from pmpath.evidence.editing.results import CATEGORIES, SampleQuantification
from pmpath.simulate.amplicon import Molecule, simulate_sequencing

from .simdata import AMPLICON, CUT, GUIDE, delete, insert, junk, substitute

NUCLEASE = EditSpec(mode="nuclease")


def _random(seed: int, length: int) -> str:
    rng = np.random.default_rng(seed)
    return "".join(rng.choice(list("ACGT"), length).tolist())


LEFT = _random(101, 40)  # genome before the amplicon as the user gave it (e.g. primer trimmed)
RIGHT = _random(102, 40)


def _cut_site_indels(amplicon: str, cut: int) -> list[str]:
    return [
        delete(amplicon, cut - 1, 1),
        delete(amplicon, cut - 3, 7),
        insert(amplicon, cut, "A"),
        insert(amplicon, cut, "GC"),
        delete(amplicon, cut - 10, 20),
    ]


def _truth(molecules: list[Molecule]) -> dict[str, float]:
    counted = [m for m in molecules if m.label in CATEGORIES or m.label == "partial_edit"]
    total = sum(m.reads for m in counted)
    return {c: sum(m.reads for m in counted if m.label == c) / total for c in CATEGORIES}


def _check(result: SampleQuantification, molecules: list[Molecule], amplicon: int = 0) -> None:
    truth = _truth(molecules)
    outcomes = result.amplicons[amplicon].outcomes.model_dump()
    for category in CATEGORIES:
        assert outcomes[category] == pytest.approx(truth[category], abs=0.005), category
    reads = result.reads
    assert reads.aligned + sum(reads.not_counted.values()) == reads.total


def _run(
    tmp_path: Path,
    molecules: list[Molecule],
    spec: EditSpec,
    *,
    amplicon: str = AMPLICON,
    guide: str = GUIDE,
    paired: bool = False,
    read_length: int | None = None,
    seed: int = 1,
) -> SampleQuantification:
    r1 = tmp_path / "r1.fq.gz"
    r2 = tmp_path / "r2.fq.gz" if paired else None
    simulate_sequencing(r1, r2, molecules, seed=seed, read_length=read_length)
    geometries, expected = layout([("amp", amplicon)], guide, spec)
    return quantify_sample(r1, r2, geometries, expected)


@pytest.mark.parametrize("flank", [10, 100, 130])
def test_overhang_is_not_an_insertion_when_the_window_reaches_the_amplicon_ends(
    tmp_path: Path, flank: int
) -> None:
    """Failure 1: with the window at an amplicon end, the bases a read has beyond the amplicon
    were counted as in-window insertions (every read "indel")."""
    molecules = [
        Molecule("unmodified", AMPLICON, 600, LEFT[-6:], RIGHT[:9]),
        Molecule("unmodified", AMPLICON, 200, "", RIGHT[:25]),
        Molecule("unmodified", AMPLICON, 200, LEFT[-3:], ""),
        *(Molecule("indel", a, 100, LEFT[-6:], RIGHT[:9]) for a in _cut_site_indels(AMPLICON, CUT)),
    ]
    spec = EditSpec(mode="nuclease", window_flank=flank)
    result = _run(tmp_path, molecules, spec)
    _check(result, molecules)
    assert result.reads.aligned == 1500


def test_prime_window_spanning_the_amplicon_with_overhanging_reads(tmp_path: Path) -> None:
    """Failure 1 (prime/HDR): a window spanning the amplicon gave 99.99% indel."""
    edited = substitute(AMPLICON, CUT + 3, "T" if AMPLICON[CUT + 3] != "T" else "C")
    molecules = [
        Molecule("intended_edit", edited, 500, LEFT[-5:], RIGHT[:7]),
        Molecule("unmodified", AMPLICON, 400, LEFT[-5:], RIGHT[:7]),
        Molecule("indel", delete(AMPLICON, CUT - 2, 4), 100, LEFT[-5:], RIGHT[:7]),
    ]
    spec = EditSpec(mode="prime", expected_amplicon=edited, window_flank=120)
    _check(_run(tmp_path, molecules, spec), molecules)


def test_masked_bases_do_not_break_seeding(tmp_path: Path) -> None:
    """Failure 2: seeds were searched on the quality-masked read, so reads with scattered
    low-quality bases (86-89% identity) carrying 9-21-bp cut-site deletions and other changes
    (they need the aligner) went unassigned, with no reason given."""
    a = AMPLICON
    two_indels = delete(delete(a, CUT - 5, 9), 200, 1)
    with_snvs = delete(a, CUT - 12, 21)
    for index in (30, 60, 190):
        with_snvs = substitute(with_snvs, index, "A" if with_snvs[index] != "A" else "C")
    molecules = [
        Molecule("unmodified", a, 300, low_quality_fraction=0.11),
        Molecule("indel", two_indels, 300, low_quality_fraction=0.11),
        Molecule("indel", with_snvs, 300, low_quality_fraction=0.11),
    ]
    result = _run(tmp_path, molecules, NUCLEASE)
    _check(result, molecules)
    assert result.reads.unassigned == 0  # 13 of 900 before the fix
    assert result.reads.aligned + result.reads.not_counted["too_many_unknown_bases"] == 900


def test_low_quality_reads_do_not_become_scattered_insertions(tmp_path: Path) -> None:
    """Failure 3: reads with 41-93 masked bases passed the identity test (N counted as a match)
    and scattered insertions were called in them. They are now counted out with a reason."""
    molecules = [
        Molecule("unmodified", AMPLICON, 700),
        Molecule("indel", delete(AMPLICON, CUT - 3, 7), 300),
        Molecule("low", AMPLICON, 150, low_quality_fraction=0.3),
        Molecule("low", AMPLICON, 150, low_quality_stretch=True),
    ]
    result = _run(tmp_path, molecules, EditSpec(mode="nuclease", window_flank=40))
    _check(result, molecules)
    assert result.reads.not_counted["too_many_unknown_bases"] >= 290


def test_large_insertions_near_the_amplicon_end_with_an_overhang(tmp_path: Path) -> None:
    """Failure 4: the both-ends rule dropped reads with 32-54-bp insertions when the read
    overhung the amplicon (cut 28 bp from the amplicon's end)."""
    amplicon = AMPLICON[:145]
    cut = CUT
    molecules = [
        Molecule("unmodified", amplicon, 400, "", RIGHT[:2]),
        *(
            Molecule("indel", insert(amplicon, cut, _random(200 + n, n)), 100, "", RIGHT[:k])
            for n, k in ((32, 2), (42, 1), (54, 3), (54, 10), (60, 1))
        ),
    ]
    result = _run(tmp_path, molecules, NUCLEASE, amplicon=amplicon)
    _check(result, molecules)
    sizes = result.on_target.indel_size_distribution
    assert sizes.get("54", 0) >= 195 and sizes.get("60", 0) >= 97  # 0 and 92 before the fix


@pytest.mark.parametrize("seed", [5, 6])
def test_pairs_with_an_insert_shorter_than_the_reads_merge(tmp_path: Path, seed: int) -> None:
    """Failure 5: paired-end merging failed when the insert was shorter than the reads
    (read-through into the adapter), even with no mismatch in the overlap."""
    amplicon = AMPLICON[40:160]  # 120 bp, read by 2 x 150
    cut = CUT - 40
    molecules = [
        Molecule("unmodified", amplicon, 400),
        Molecule("indel", delete(amplicon, cut - 2, 5), 200),
        Molecule("indel", insert(amplicon, cut, "T"), 100),
        Molecule("indel", delete(amplicon, cut - 20, 40), 100),  # insert of 80 bp
    ]
    r1, r2 = tmp_path / "r1.fq.gz", tmp_path / "r2.fq.gz"
    simulate_sequencing(r1, r2, molecules, seed=seed, read_length=150)
    geometries, expected = layout([("amp", amplicon)], GUIDE, NUCLEASE)
    result = quantify_sample(r1, r2, geometries, expected)
    assert result.reads.merged == result.reads.total
    _check(result, molecules)


def test_every_read_outside_the_denominator_has_a_counted_reason(tmp_path: Path) -> None:
    """Goal: no read leaves the denominator without a counted reason."""
    molecules = [
        Molecule("unmodified", AMPLICON, 500, LEFT[-4:], RIGHT[:4]),
        Molecule("indel", delete(AMPLICON, CUT - 3, 7), 200),
        Molecule("junk", junk(), 30),
        Molecule("truncated", AMPLICON[:150], 20),
        Molecule("low", AMPLICON, 25, low_quality_fraction=0.4),
    ]
    result = _run(tmp_path, molecules, NUCLEASE)
    reads = result.reads
    assert reads.total == 775
    assert reads.aligned == 700
    assert reads.not_counted["no_seed"] + reads.not_counted["below_identity"] == 30
    assert reads.not_counted["does_not_span"] == 20
    assert reads.not_counted["too_many_unknown_bases"] == 25
    _check(result, molecules)


def test_reads_that_two_amplicons_fit_equally_are_ambiguous(tmp_path: Path) -> None:
    """Pooled amplicons that share a stretch: a read of the shared part alone fits both."""
    shared = AMPLICON[:200]
    second = shared + _random(300, 50)
    first = shared + _random(301, 50)
    molecules = [Molecule("unmodified", first, 100), Molecule("unmodified", second, 100)]
    r1 = tmp_path / "r1.fq.gz"
    simulate_sequencing(r1, None, [*molecules, Molecule("both", shared[:195], 40)], seed=3)
    geometries, expected = layout([("a", first), ("b", second)], GUIDE, EditSpec(mode="nuclease"))
    result = quantify_sample(r1, None, geometries, expected, QuantifySettings(max_end_gap=60))
    assert result.reads.not_counted["ambiguous_amplicon"] == 40
    assert [a.aligned_reads for a in result.amplicons] == [100, 100]


SCAFFOLD = "GUUUUAGAGCUAGAAAUAGCAAGUUAAAAUAAGGCUAGUCCGUUAUCAACUUGAAAAAGUGGCACCGAGUCGGUGC"


def _prime_design() -> tuple[str, str, str]:
    """Return (expected amplicon, pegRNA extension RTT+PBS as RNA, the second edit's index): a
    two-base edit (PAM G>C at 121, and 125) written by a 16-nt RT template after the nick at
    117, primer binding site 13 nt; the flap ends at 133."""
    a = AMPLICON
    edited = substitute(a, 121, "C")
    edited = substitute(edited, 125, "A" if a[125] != "A" else "T")
    dna = edited[104:133]  # PBS (a[104:117]) + RT template product (edited[117:133])
    extension = dna.translate(str.maketrans("ACGT", "UGCA"))[::-1]
    return edited, extension, 125


def test_prime_scaffold_incorporation_pe3_nick_and_partial_edits(tmp_path: Path) -> None:
    """Failure 6: scaffold-incorporated reads counted as intended, no nicking guide (indels
    between the PE3 nicks missed), partial edits reported as unmodified."""
    from pmpath.simulate.amplicon import deletion_between, scaffold_incorporated

    edited, extension, _ = _prime_design()
    nicking_guide = reverse_complement(AMPLICON[175:195])  # - strand, nick at 178
    partial = substitute(AMPLICON, 121, "C")
    molecules = [
        Molecule("intended_edit", edited, 400, LEFT[-4:], RIGHT[:4]),
        Molecule("unmodified", AMPLICON, 300, LEFT[-4:], RIGHT[:4]),
        Molecule("indel", scaffold_incorporated(edited, 133, SCAFFOLD, 9), 60),
        Molecule("indel", scaffold_incorporated(edited, 133, SCAFFOLD, 2), 40),
        Molecule("partial_edit", partial, 100),
        Molecule("indel", deletion_between(AMPLICON, 150, 165), 100),  # between the nicks
    ]
    spec = EditSpec(
        mode="prime",
        expected_amplicon=edited,
        nicking_guide=nicking_guide,
        pegrna_extension=extension,
        pegrna_scaffold=SCAFFOLD,
    )
    result = _run(tmp_path, molecules, spec)
    _check(result, molecules)
    on_target = result.on_target
    assert on_target.outcomes.partial_edit == pytest.approx(0.1, abs=0.005)
    assert 97 <= on_target.outcome_details.scaffold_incorporation <= 100
    assert on_target.outcome_details.indel_with_intended_edit >= 97  # scaffold reads carry it
    assert on_target.window_end_position >= 178 + 10  # widened to the second nick


def test_prime_extension_given_in_either_orientation() -> None:
    """The extension as written on the pegRNA (RNA, RT template then PBS) or as the flap DNA it
    templates (its reverse complement) locates the same flap end and scaffold junction."""
    edited, extension, _ = _prime_design()
    junctions = []
    for given in (extension, reverse_complement(extension.replace("U", "T"))):
        spec = EditSpec(
            mode="prime", expected_amplicon=edited, pegrna_extension=given, pegrna_scaffold=SCAFFOLD
        )
        _, expected = layout([("amp", AMPLICON)], GUIDE, spec)
        assert expected is not None
        junctions.append(expected.scaffold_junctions)
    assert junctions[0] == junctions[1] == (edited[121:133] + "G",)  # rc(scaffold) starts G


def test_mixed_and_frameshift_details(tmp_path: Path) -> None:
    """Item 7: HDR-like mixed reads (intended edit plus an indel) and frameshift vs in frame."""
    from .simdata import TARGET

    edited = substitute(AMPLICON, TARGET, "G")
    molecules = [
        Molecule("unmodified", AMPLICON, 300),
        Molecule("intended_edit", edited, 300),
        Molecule("indel", delete(edited, CUT - 1, 1), 100),  # frameshift, with the edit
        Molecule("indel", delete(AMPLICON, CUT - 1, 3), 150),  # in frame
        Molecule("indel", insert(AMPLICON, CUT, "GC"), 150),  # frameshift
    ]
    spec = EditSpec(
        mode="base-editor",
        conversion="A>G",
        activity_window=(4, 8),
        target_position=6,
        coding_region=(1, 250),
    )
    result = _run(tmp_path, molecules, spec)
    _check(result, molecules)
    details = result.on_target.outcome_details
    assert details.indel_with_intended_edit == 100
    assert (details.frameshift, details.in_frame) == (250, 150)


def test_pooled_amplicons_each_with_its_own_guide(tmp_path: Path) -> None:
    """Item 7: pooled amplicons, each with its own guide (exited 2 before: the guide had to be
    in every amplicon), from one FASTA with ``guide=`` in the headers, through the request."""
    from pmpath.domain.requests.editing import EditingQuantificationRequest
    from pmpath.evidence.registry import execute

    second = _random(400, 90) + "TTGACCTAGCGTACGATCCA" + "AGG" + _random(401, 107)
    second_guide, second_cut = "TTGACCTAGCGTACGATCCA", 90 + 17
    molecules = [
        Molecule("a:unmodified", AMPLICON, 300, LEFT[-3:], RIGHT[:3]),
        Molecule("a:indel", delete(AMPLICON, CUT - 2, 4), 200, LEFT[-3:], RIGHT[:3]),
        Molecule("b:unmodified", second, 150),
        Molecule("b:indel", insert(second, second_cut, "A"), 350),
    ]
    fasta = tmp_path / "pool.fa"
    fasta.write_text(f">a guide={GUIDE}\n{AMPLICON}\n>b guide={second_guide}\n{second}\n")
    r1 = tmp_path / "r1.fq.gz"
    simulate_sequencing(r1, None, molecules, seed=9)
    request = EditingQuantificationRequest(r1=r1, amplicon_fasta=fasta, guide=GUIDE)
    result = execute(request)
    by_name = {a.name: a for a in result.amplicons}  # type: ignore[attr-defined]
    assert by_name["a"].outcomes.indel == pytest.approx(0.4, abs=0.005)
    assert by_name["b"].outcomes.indel == pytest.approx(0.7, abs=0.005)
    assert by_name["b"].cut_after_position == second_cut
    assert set(result.input_sha256) == {"r1", "amplicon_fasta"}


@pytest.mark.parametrize("paired", [False, True])
def test_per_read_assignments_agree_with_the_counts_and_the_truth(
    tmp_path: Path, paired: bool
) -> None:
    """Item 7: every read's assignment (TSV) can be audited: one row per read, the same
    categories and reasons the counts hold, and each read's truth (in its name) matches."""
    import gzip
    from collections import Counter

    from pmpath.domain.requests.editing import AmpliconRecord, EditingQuantificationRequest
    from pmpath.evidence.registry import execute
    from pmpath.reports.editing import write_assignments_of

    molecules = [
        Molecule("unmodified", AMPLICON, 300, LEFT[-4:], RIGHT[:4]),
        Molecule("indel", delete(AMPLICON, CUT - 3, 7), 200, LEFT[-4:], RIGHT[:4]),
        Molecule("junk", junk(), 20),
        Molecule("low", AMPLICON, 15, low_quality_fraction=0.4),
    ]
    r1 = tmp_path / "r1.fq.gz"
    r2 = tmp_path / "r2.fq.gz" if paired else None
    simulate_sequencing(r1, r2, molecules, seed=21, read_length=200 if paired else None)
    request = EditingQuantificationRequest(
        r1=r1, r2=r2, amplicons=[AmpliconRecord(name="amp", sequence=AMPLICON)], guide=GUIDE
    )
    result = execute(request)
    (path,) = write_assignments_of(request, tmp_path)  # type: ignore[arg-type]
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    assert lines[0] == "read\tamplicon\toutcome\twindow_indels"
    rows = [line.split("\t") for line in lines[1:]]
    assert len(rows) == result.reads.total == 535  # type: ignore[attr-defined]
    outcomes = Counter(r[2] for r in rows)
    counts = result.amplicons[0].outcome_counts  # type: ignore[attr-defined]
    assert outcomes["indel"] == counts.indel == 200
    assert outcomes["unmodified"] == counts.unmodified == 300
    reasons = {k: v for k, v in result.reads.not_counted.items() if v}  # type: ignore[attr-defined]
    assert {k: outcomes[k] for k in reasons} == reasons
    assert {r[1] for r in rows if r[2] in ("indel", "unmodified")} == {"amp"}
    labels = Counter(r[3] for r in rows if r[2] == "indel")
    assert labels.most_common(1)[0] == ("116_122del", 200), labels  # placed at the cut
