"""Editing quantification against simulated reads with known truth (fixed seeds)."""

from __future__ import annotations

import contextlib
import gzip
from pathlib import Path

import pytest

from pmpath.domain.errors import InvalidInputError
from pmpath.evidence.editing.align import AmpliconAligner
from pmpath.evidence.editing.geometry import EditSpec, reverse_complement
from pmpath.evidence.editing.quantify import (
    QuantifySettings,
    layout,
    quantify_editing,
    quantify_sample,
)
from pmpath.evidence.editing.results import CATEGORIES
from pmpath.simulate.amplicon import simulate_amplicon_reads

from .simdata import AMPLICON, CUT, GUIDE, TARGET, base_editor_mix, delete, insert, substitute

BE = EditSpec(mode="base-editor", conversion="A>G", activity_window=(4, 8), target_position=6)


def _truth_fractions(mix: list[tuple[str, str, int]]) -> dict[str, float]:
    aligned = sum(n for cat, _, n in mix if cat != "unassigned")
    return {c: sum(n for cat, _, n in mix if cat == c) / aligned for c in CATEGORIES}


@pytest.mark.parametrize("paired", [False, True])
def test_categories_within_half_a_point_at_half_percent_error(tmp_path: Path, paired: bool) -> None:
    mix = base_editor_mix(scale=4)  # 4,040 reads
    r1 = tmp_path / "r1.fq.gz"
    r2 = tmp_path / "r2.fq.gz" if paired else None
    simulate_amplicon_reads(
        r1, r2, mix, seed=11, error_start=0.005, error_end=0.005, read_length=150
    )
    geometries, expected = layout([("amp", AMPLICON)], GUIDE, BE)
    result = quantify_sample(r1, r2, geometries, expected)
    truth = _truth_fractions(mix)
    outcomes = result.on_target.outcomes.model_dump()
    for category in CATEGORIES:
        assert outcomes[category] == pytest.approx(truth[category], abs=0.005), category
    assert sum(outcomes.values()) == pytest.approx(1.0)
    assert result.reads.unassigned == 40
    assert result.reads.total == sum(n for _, _, n in mix)
    if paired:
        assert result.reads.merged == result.reads.total  # every pair overlaps (250 < 2 x 150)
        assert result.reads.merge_rate == 1.0
    else:
        assert result.reads.merged is None
    clean_truth = 300 * 4 / sum(n for c, _, n in mix if c != "unassigned")
    assert result.on_target.intended_edit_clean == pytest.approx(clean_truth, abs=0.005)
    # each true indel is called with its exact position and size in at least 97% of its reads
    # (the others have an error beside the indel, which can move it; an inserted base of low
    # quality is N, unknown, so inserted bases are not compared)
    called: dict[tuple[str, int, int], int] = {}
    for i in result.on_target.top_indels:
        key = (i.kind, i.start_position, i.length)
        called[key] = called.get(key, 0) + i.reads
    aligner = AmpliconAligner(AMPLICON, CUT)
    for category, allele, reads in mix:
        if category == "indel":
            true = aligner.align(allele).indels[0]
            key = (true.kind, true.start + 1, true.length)
            assert 0.97 * reads <= called.get(key, 0) <= reads, key


def test_error_free_indels_recovered_exactly(tmp_path: Path) -> None:
    a = AMPLICON
    alleles = [
        ("del1", delete(a, CUT - 1, 1), 5),
        ("del7", delete(a, CUT - 3, 7), 5),
        ("insA", insert(a, CUT, "A"), 5),
        ("insGC", insert(a, CUT, "GC"), 5),
        ("del60", delete(a, CUT - 30, 60), 5),
    ]
    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, alleles, seed=3, error_start=0.0, error_end=0.0)
    geometries, _ = layout([("amp", a)], GUIDE, EditSpec(mode="nuclease"))
    result = quantify_sample(r1, None, geometries).on_target
    assert result.outcomes.indel == 1.0
    assert result.indel_size_distribution == {"-60": 5, "-7": 5, "-1": 5, "1": 5, "2": 5}
    # Each called indel reproduces the allele and is the equally scoring placement nearest
    # the cut; check it against every placement of the same indel that yields the same allele.
    aligner = AmpliconAligner(a, CUT)
    for label, allele, _ in alleles:
        called = aligner.align(allele).indels
        assert len(called) == 1, label
        indel = called[0]
        if indel.kind == "deletion":
            assert delete(a, indel.start, indel.length) == allele
            equivalent = [
                s for s in range(len(a) - indel.length + 1) if delete(a, s, indel.length) == allele
            ]
            distance = [
                0
                if s <= CUT <= s + indel.length
                else min(abs(s - CUT), abs(s + indel.length - CUT))
                for s in equivalent
            ]
            assert min(distance) == (
                0
                if indel.start <= CUT <= indel.start + indel.length
                else min(abs(indel.start - CUT), abs(indel.start + indel.length - CUT))
            )
        else:
            assert insert(a, indel.start, indel.inserted) == allele
            assert indel.start == CUT
    labels = {i.label: i.reads for i in result.top_indels}
    assert labels["117del"] == 5
    # a[114] == a[121] (G): deleting 114..120 or 115..121 (0-based) gives the same read; both
    # span the cut, and the second starts nearer to it, so it is reported (1-based 116-122).
    assert AMPLICON[CUT - 3] == AMPLICON[CUT + 4] == "G"
    assert labels["116_122del"] == 5
    assert labels["117_118insA"] == 5
    assert labels["117_118insGC"] == 5
    assert labels["88_147del"] == 5


def test_ambiguous_deletion_in_repeat_goes_to_the_cut() -> None:
    # AAAA at 14..17; deleting any one A gives the same read. It is placed to touch the cut
    # boundary, and among those the deletion starting at the cut wins (cut 16: start 16, not 15).
    reference = "ACGTACGGTTCAGCAAAAGTCAGTTGGCCAGTCAGT"
    read = "ACGTACGGTTCAGCAAAGTCAGTTGGCCAGTCAGT"
    for cut, start in ((18, 17), (14, 14), (16, 16)):
        indel = AmpliconAligner(reference, cut).align(read).indels[0]
        assert (indel.kind, indel.length) == ("deletion", 1)
        assert indel.start == start


def test_substitution_only_reads_are_not_aligned(tmp_path: Path) -> None:
    a = AMPLICON
    mix = [("u", a, 50), ("e", substitute(a, TARGET, "G"), 50)]
    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, mix, seed=5, error_start=0.003, error_end=0.003)
    geometries, expected = layout([("amp", a)], GUIDE, BE)
    result = quantify_sample(r1, None, geometries, expected)
    assert result.aligned_by_wfa == 0
    assert result.on_target.outcome_counts.intended_edit == 50


def test_bounded_cache_gives_the_same_answer(tmp_path: Path) -> None:
    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, base_editor_mix(), seed=2, error_start=0.005, error_end=0.005)
    geometries, expected = layout([("amp", AMPLICON)], GUIDE, BE)
    full = quantify_sample(r1, None, geometries, expected)
    small = quantify_sample(
        r1,
        None,
        geometries,
        expected,
        QuantifySettings(chunk_reads=97, max_cached_alignments=5, max_alleles=3),
    )
    assert small.on_target.outcome_counts == full.on_target.outcome_counts
    assert small.on_target.positions == full.on_target.positions
    assert small.on_target.distinct_alleles == 3
    assert small.on_target.reads_in_untracked_alleles > 0


def test_several_amplicons_and_reverse_reads(tmp_path: Path) -> None:
    a = AMPLICON
    # An off-target amplicon: different flanks, the site with two mismatches.
    site = "GACCCACACCGGTGGTGAAG" + "AGG"
    off = make_off = "TTGACCAGTCAGGATCCATGCATGCGTACGTTAGCAGTCGATCGTACGATGCTAGCTAGGACT"
    off = make_off + site + "CATGGTCAGTACCAGTGACTGATGCAGTCAGGACTTACGAGCATCGACTAGCTGACT"
    mix = [
        ("on", substitute(a, TARGET, "G"), 30),
        ("on_rc", reverse_complement(a), 20),
        ("off", off, 25),
        ("off_edited", substitute(off, len(make_off) + 5, "G"), 5),
        ("junk", "ACGT" * 40, 7),
    ]
    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, mix, seed=8, error_start=0.0, error_end=0.0)
    fasta = tmp_path / "panel.fa"
    fasta.write_text(f">on\n{a[:120]}\n{a[120:]}\n>off1\n{off}\n")
    from pmpath.evidence.editing.quantify import read_amplicons

    amplicons = read_amplicons(str(fasta))
    assert [name for name, _ in amplicons] == ["on", "off1"]
    geometries, expected = layout(amplicons, GUIDE, BE)
    assert geometries[1].site_mismatches == 2
    result = quantify_sample(r1, None, geometries, expected)
    on, off_result = result.amplicons
    assert on.aligned_reads == 50
    assert on.outcome_counts.intended_edit == 30
    assert off_result.aligned_reads == 30
    assert off_result.outcome_counts.bystander_only == 5  # conversion at an off-target site
    assert result.reads.unassigned == 7


def test_prime_edit_with_an_insertion(tmp_path: Path) -> None:
    a = AMPLICON
    edited = insert(substitute(a, CUT + 3, "T" if a[CUT + 3] != "T" else "C"), CUT, "GAT")
    mix = [
        ("intended_edit", edited, 60),
        ("unmodified", a, 100),
        ("indel", delete(a, CUT - 2, 4), 40),
    ]
    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, mix, seed=9, error_start=0.002, error_end=0.002)
    spec = EditSpec(mode="prime", expected_amplicon=edited)
    geometries, expected = layout([("amp", a)], GUIDE, spec)
    result = quantify_sample(r1, None, geometries, expected).on_target
    assert result.outcome_counts.intended_edit == 60
    assert result.outcome_counts.indel == 40
    assert result.outcome_counts.unmodified == 100


def test_one_percent_edit_detected_over_background_control(tmp_path: Path) -> None:
    a = AMPLICON
    treated = tmp_path / "t.fq.gz"
    none = tmp_path / "n.fq.gz"
    control = tmp_path / "c.fq.gz"
    edited = substitute(a, TARGET, "G")
    simulate_amplicon_reads(
        treated,
        None,
        [("e", edited, 30), ("u", a, 2970)],
        seed=21,
        error_start=0.005,
        error_end=0.005,
    )
    simulate_amplicon_reads(
        none, None, [("u", a, 3000)], seed=22, error_start=0.005, error_end=0.005
    )
    simulate_amplicon_reads(
        control, None, [("u", a, 3000)], seed=23, error_start=0.005, error_end=0.005
    )
    common = {"amplicons": [("amp", a)], "guide": GUIDE, "spec": BE, "control_r1": control}
    hit = quantify_editing(r1=treated, **common)  # type: ignore[arg-type]
    assert hit.net is not None and hit.net.edited_above_background
    intended = hit.net.categories["intended_edit"]
    assert intended.net_fraction == pytest.approx(0.01, abs=0.002)
    assert intended.p_value < 1e-4
    assert intended.detection_limit_fraction is not None
    assert intended.detection_limit_fraction < 0.01
    assert any(p.position == TARGET + 1 for p in hit.net.positions_above_background)
    miss = quantify_editing(r1=none, **common)  # type: ignore[arg-type]
    assert miss.net is not None and not miss.net.edited_above_background
    assert miss.net.verdict.startswith("not above background")
    assert miss.net.positions_above_background == []


def _fastq(path: Path, records: list[tuple[str, str, str]]) -> Path:
    path.write_text("".join(f"@{n}\n{s}\n+\n{q}\n" for n, s, q in records))
    return path


def test_bad_inputs_name_the_file_and_record(tmp_path: Path) -> None:
    a = AMPLICON
    good = ("r1", a, "I" * len(a))
    geometries, _ = layout([("amp", a)], GUIDE, EditSpec(mode="nuclease"))

    def run(r1: Path, r2: Path | None = None) -> str:
        with pytest.raises(InvalidInputError) as info:
            quantify_sample(r1, r2, geometries)
        message = str(info.value)
        assert "\n" not in message
        return message

    bad_len = _fastq(tmp_path / "len.fq", [good, ("r2", a, "I" * (len(a) - 1))])
    assert "len.fq: record 2" in run(bad_len)
    empty = tmp_path / "empty.fq"
    empty.write_text("")
    assert "empty.fq" in run(empty) and "empty" in run(empty)
    data = gzip.compress(("".join(f"@r{i}\n{a}\n+\n{'I' * len(a)}\n" for i in range(400))).encode())
    truncated = tmp_path / "cut.fq.gz"
    truncated.write_bytes(data[: len(data) // 2])
    assert "cut.fq.gz: record" in run(truncated)
    r1 = _fastq(tmp_path / "a_R1.fq", [("p1/1", a[:150], "I" * 150), ("p2/1", a[:150], "I" * 150)])
    r2_short = _fastq(tmp_path / "a_R2.fq", [("p1/2", reverse_complement(a)[:150], "I" * 150)])
    assert "a_R2.fq: has fewer reads" in run(r1, r2_short)
    r2_names = _fastq(
        tmp_path / "b_R2.fq",
        [("p1/2", reverse_complement(a)[:150], "I" * 150), ("px/2", a[:150], "I" * 150)],
    )
    assert "b_R2.fq: record 2 (px/2)" in run(r1, r2_names)
    with pytest.raises(InvalidInputError, match="guide ACGTACGTACGTACGTACGT not found"):
        layout([("amp", a)], "ACGTACGTACGTACGTACGT", EditSpec(mode="nuclease"))
    with pytest.raises(InvalidInputError, match="target_position 7 is C"):
        layout(
            [("amp", a)],
            GUIDE,
            EditSpec("base-editor", conversion="A>G", activity_window=(4, 8), target_position=7),
        )


def test_single_gap_shortcut_matches_the_dynamic_programme() -> None:
    # Reads with one indel and up to 2 substitutions: the numpy one-gap fit must find an
    # alignment with the same (optimal) penalty as WFA, and a placement WFA also reaches.
    import numpy as np

    from pmpath.evidence.editing.align import single_gap_alignment, single_gap_batch

    rng = np.random.default_rng(4)
    a = AMPLICON
    reference = np.frombuffer(a.encode(), dtype=np.uint8)
    aligner = AmpliconAligner(a, CUT)
    checked = 0
    for _ in range(300):
        d = int(rng.integers(1, 40))
        start = int(rng.integers(60, 160))
        if rng.random() < 0.5:
            read = delete(a, start, d)
        else:
            read = insert(a, start, "".join(rng.choice(list("ACGT"), d).tolist()))
        for _ in range(int(rng.integers(0, 3))):
            i = int(rng.integers(0, len(read)))
            read = substitute(read, i, "ACGT"[("ACGT".index(read[i]) + 1) % 4])
        row = np.frombuffer(read.encode(), dtype=np.uint8).reshape(1, -1)
        mismatches, starts = single_gap_batch(row, reference, CUT)
        if mismatches[0] > 2:
            continue
        fast = single_gap_alignment(read, a, int(starts[0]), int(mismatches[0]))
        slow = aligner.align(read)
        assert fast.penalty == slow.penalty, read
        if mismatches[0] == 0:  # error-free: the same placement, the one nearest the cut
            assert fast.indels == slow.indels, read
        checked += 1
    assert checked > 250


def test_long_deletions_need_no_dynamic_programme_and_agree_with_it(tmp_path: Path) -> None:
    # Reads shorter than 70% of the amplicon (deletions of 80-150 bp across the cut), error-free
    # or with one substitution: the one-gap fit takes them (no WFA), with WFA's penalty, and each
    # is counted as the truth says; a 100-base read with 30 unknown bases fails the identity test
    # (75% here) and is left to the aligner, which counts it below identity.
    import numpy as np

    from pmpath.evidence.editing.align import single_gap_alignment, single_gap_batch

    a = AMPLICON
    aligner = AmpliconAligner(a, CUT)
    reference = np.frombuffer(a.encode(), dtype=np.uint8)
    for size in (80, 100, 120, 150):
        for read in (delete(a, CUT - size // 2, size), substitute(delete(a, 40, size), 20, "N")):
            row = np.frombuffer(read.encode(), dtype=np.uint8).reshape(1, -1)
            mismatches, starts = single_gap_batch(row, reference, CUT)
            fast = single_gap_alignment(read, a, int(starts[0]), int(mismatches[0]))
            assert fast.penalty == aligner.align(read).penalty, size
    mix = [(f"d{size}", delete(a, CUT - size // 2, size), 3) for size in (80, 100, 120, 150)]
    mix.append(("e", substitute(delete(a, CUT - 45, 90), 10, "A" if a[10] != "A" else "C"), 4))
    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, mix, seed=8, error_start=0.0, error_end=0.0)
    geometries, _ = layout([("amp", a)], GUIDE, EditSpec(mode="nuclease"))
    result = quantify_sample(r1, None, geometries)
    assert result.aligned_by_wfa == 0
    assert result.on_target.outcome_counts.indel == 16
    by_length = {(i.kind, i.length): i.reads for i in result.on_target.top_indels}
    assert by_length == {("deletion", 80): 3, ("deletion", 100): 3, ("deletion", 120): 3,
                         ("deletion", 150): 3, ("deletion", 90): 4}  # fmt: skip
    unknown = a[:40] + "N" * 30 + a[-30:]  # fits with one gap, 70 known of 100 bases
    settings = QuantifySettings(max_unknown_fraction=1.0, min_read_identity=0.75)
    r2 = tmp_path / "r2.fq"
    r2.write_text("".join(f"@{n}\n{s}\n+\n{'I' * len(s)}\n" for n, s in (("u", unknown), ("a", a))))
    result = quantify_sample(r2, None, geometries, settings=settings)
    assert (result.reads.aligned, result.reads.not_counted["below_identity"]) == (1, 1)
    assert result.on_target.outcome_counts.unmodified == 1


def test_alleles_that_delete_the_whole_window_stay_apart(tmp_path: Path) -> None:
    a = AMPLICON
    mix = [("d60", delete(a, CUT - 30, 60), 7), ("d80", delete(a, CUT - 40, 80), 3)]
    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, mix, seed=12, error_start=0.0, error_end=0.0)
    geometries, _ = layout([("amp", a)], GUIDE, EditSpec(mode="nuclease"))
    result = quantify_sample(r1, None, geometries).on_target
    window = result.window_end_position - result.window_start_position + 1
    rows = [(r.allele_window, r.changes, r.reads) for r in result.alleles]
    assert rows == [("-" * window, "88_147del", 7), ("-" * window, "78_157del", 3)]


def test_low_quality_reads_and_bases(tmp_path: Path) -> None:
    a = AMPLICON
    edited = substitute(a, TARGET, "G")
    high, low = "I" * len(a), "+" * len(a)  # Phred 40 and 10
    # a read whose target base is Q10: unknown there, never counted as an edit
    masked = high[:TARGET] + "+" + high[TARGET + 1 :]
    records = [("h1", edited, high), ("h2", a, high), ("l1", edited, low), ("m1", edited, masked)]
    r1 = _fastq(tmp_path / "q.fq", records)
    geometries, expected = layout([("amp", a)], GUIDE, BE)
    strict = quantify_sample(r1, None, geometries, expected, QuantifySettings(min_mean_quality=30))
    assert (strict.reads.total, strict.reads.passed_filter) == (4, 3)
    tally = strict.on_target
    assert tally.target_unknown_reads == 1
    # the unknown read is shared 1:1 like the known reads without bystander (1 edited, 1 not)
    assert tally.outcome_counts.intended_edit + tally.outcome_counts.unmodified == 3
    loose = quantify_sample(r1, None, geometries, expected, QuantifySettings(min_base_quality=0))
    assert loose.reads.passed_filter == 4
    assert loose.on_target.outcome_counts.intended_edit == 3
    assert loose.on_target.target_unknown_reads == 0


def test_merge_pair_hand_computed() -> None:
    from pmpath.evidence.editing.reads import merge_pair

    fragment = AMPLICON[:60]
    r1, r2 = fragment[:40], reverse_complement(fragment[25:])  # overlap of 15 bases (25..39)
    merged = merge_pair(r1, "I" * 40, r2, "5" * 35)
    assert merged == (fragment, "I" * 40 + "5" * 20)
    # a disagreement in a 30-base overlap (20..49): the higher quality wins, with the
    # difference of the two qualities
    r1, r2 = fragment[:50], reverse_complement(fragment[20:])
    wrong = "A" if fragment[30] != "A" else "C"
    r1_bad = r1[:30] + wrong + r1[31:]
    q1 = "I" * 30 + "+" + "I" * 19  # Q10 at the wrong base; R2 has Q20 everywhere
    merged_bad = merge_pair(r1_bad, q1, r2, "5" * 40)
    assert merged_bad is not None
    assert merged_bad[0] == fragment
    assert merged_bad[1][30] == chr(33 + 20 - 10)
    assert merge_pair(r1, "I" * 40, reverse_complement(AMPLICON[100:140]), "I" * 40) is None


def test_sequencing_errors_do_not_inflate_modified_in_a_wide_window(tmp_path: Path) -> None:
    # Unedited reads with 0.5% substitution errors: about 1 - 0.995^43 = 19% of reads have an
    # error somewhere in the 43-bp window (CRISPResso2 would call them all MODIFIED); errors
    # that are not the editor's conversion at a convertible base are noise here.
    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(
        r1, None, [("u", AMPLICON, 3000)], seed=17, error_start=0.005, error_end=0.005
    )
    geometries, expected = layout([("amp", AMPLICON)], GUIDE, BE)
    tally = quantify_sample(r1, None, geometries, expected).on_target
    window = slice(tally.window_start_position - 1, tally.window_end_position)
    substitutions_per_read = sum(
        r.substitution_fraction_of_aligned_reads for r in tally.positions[window]
    )
    assert substitutions_per_read > 0.03  # errors of Q20 or more stay called in the window
    assert tally.outcomes.unmodified >= 0.998
    assert len(tally.positions[window]) == 43


def test_reads_from_the_other_strand(tmp_path: Path) -> None:
    a = AMPLICON
    mix = [
        ("intended", reverse_complement(substitute(a, TARGET, "G")), 30),
        ("deletion", reverse_complement(delete(a, CUT - 1, 1)), 20),
        ("large", reverse_complement(delete(a, CUT - 30, 60)), 10),
    ]
    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, mix, seed=19, error_start=0.0, error_end=0.0)
    geometries, expected = layout([("amp", a)], GUIDE, BE)
    result = quantify_sample(r1, None, geometries, expected)
    assert result.aligned_by_wfa == 0  # the fast paths also run on reverse complements
    counts = result.on_target.outcome_counts
    assert (counts.intended_edit, counts.indel, result.reads.unassigned) == (30, 30, 0)
    assert {i.label: i.reads for i in result.on_target.top_indels} == {
        "117del": 20,
        "88_147del": 10,
    }


def test_guide_on_the_minus_strand_base_editor_and_reversed_expected_amplicon(
    tmp_path: Path,
) -> None:
    # The same site written on the other strand: protospacer positions count along the guide,
    # the conversion A>G on the guide's strand is T>C on the amplicon.
    a = reverse_complement(AMPLICON)
    target = len(a) - 1 - TARGET
    assert a[target] == "T"
    mix = [("e", substitute(a, target, "C"), 40), ("u", a, 60)]
    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, mix, seed=23, error_start=0.0, error_end=0.0)
    geometries, expected = layout([("amp", a)], GUIDE, BE)
    assert geometries[0].strand == "-" and geometries[0].target_index == target
    result = quantify_sample(r1, None, geometries, expected).on_target
    assert (result.outcome_counts.intended_edit, result.outcome_counts.unmodified) == (40, 60)
    assert result.conversion == "T>C"
    # prime mode: the expected amplicon may be given on either strand
    edited = substitute(a, target, "C")
    spec = EditSpec(mode="prime", expected_amplicon=reverse_complement(edited))
    geometries, expected = layout([("amp", a)], GUIDE, spec)
    assert expected is not None and expected.substitutions == ((target, "C"),)
    with pytest.raises(InvalidInputError, match="does not match the amplicon"):
        layout([("amp", a)], GUIDE, EditSpec(mode="prime", expected_amplicon="ACGT" * 60))


def test_vectorised_merge_equals_the_pairwise_merge() -> None:
    import numpy as np

    from pmpath.evidence.editing.reads import merge_pair, merge_pairs

    rng = np.random.default_rng(29)
    s1: list[str] = []
    q1: list[str] = []
    s2: list[str] = []
    q2: list[str] = []
    for k in range(400):
        length = int(rng.integers(120, 300))  # fragments shorter than a read, too
        fragment = AMPLICON[:length] if k % 7 else "".join(rng.choice(list("ACGT"), length))
        a = list(fragment[:150])
        b = list(reverse_complement(fragment)[:150])
        if k % 11 == 0:
            b = list(reverse_complement(AMPLICON[30:180]))  # does not pair with a
        qa = list(rng.choice(list("5?I+"), len(a)))
        qb = list(rng.choice(list("5?I+"), len(b)))
        for read in (a, b):
            for _ in range(int(rng.integers(0, 6))):
                read[int(rng.integers(0, len(read)))] = str(rng.choice(list("ACGT")))
        s1.append("".join(a))
        q1.append("".join(qa))
        s2.append("".join(b))
        q2.append("".join(qb))
    expected = [merge_pair(*args) for args in zip(s1, q1, s2, q2, strict=True)]
    assert merge_pairs(s1, q1, s2, q2) == expected
    assert sum(m is not None for m in expected) > 300


def test_truncated_reads_and_primer_dimers_are_unassigned_not_deletions(tmp_path: Path) -> None:
    a = AMPLICON
    mix = [
        ("large", delete(a, CUT - 60, 120), 10),  # a real 120-bp deletion: both ends present
        ("dimer", a[:30] + a[-30:], 5),  # both ends present: a 190-bp deletion (or a dimer)
        ("truncated", a[:150], 7),  # stops before the amplicon's end
    ]
    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, mix, seed=31, error_start=0.0, error_end=0.0)
    geometries, _ = layout([("amp", a)], GUIDE, EditSpec(mode="nuclease"))
    result = quantify_sample(r1, None, geometries)
    assert result.reads.unassigned == 7
    by_length = {(i.kind, i.length): i.reads for i in result.on_target.top_indels}
    assert by_length == {("deletion", 120): 10, ("deletion", 190): 5}  # both span the window


def test_layout_rejects_ambiguous_sites_and_positions_outside_the_protospacer() -> None:
    twice = AMPLICON + reverse_complement(GUIDE + "TGG")
    with pytest.raises(InvalidInputError, match="occurs 2 times"):
        layout([("amp", twice)], GUIDE, EditSpec(mode="nuclease"))
    outside = EditSpec("base-editor", conversion="A>G", activity_window=(4, 8), target_position=21)
    with pytest.raises(InvalidInputError, match="target_position 21 is outside the 20-nt"):
        layout([("amp", AMPLICON)], GUIDE, outside)
    wide = EditSpec("base-editor", conversion="A>G", activity_window=(4, 25), target_position=6)
    with pytest.raises(InvalidInputError, match="activity_window 25 is outside"):
        layout([("amp", AMPLICON)], GUIDE, wide)


def test_report_appears_whole_or_not_at_all_and_progress_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pmpath.reports import editing as report

    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, base_editor_mix(), seed=41, chunk_reads=300)
    seen: list[int] = []
    result = quantify_editing(
        amplicons=[("amp", AMPLICON)],
        guide=GUIDE,
        spec=BE,
        r1=r1,
        settings=QuantifySettings(chunk_reads=400),
        progress=seen.append,
    )
    assert seen == [400, 800, 1010]

    def broken(*_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "_figures", broken)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        report.write_report(result, out)
    assert list(out.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".pmpath")] == []
    monkeypatch.undo()
    written = report.write_report(result, out, figures=False)
    assert {p.name for p in written} == {
        "summary.json",
        "alleles.tsv",
        "positions.tsv",
        "report.html",
    }


def test_prime_edit_with_an_unknown_base_is_shared_not_refuted(tmp_path: Path) -> None:
    a = AMPLICON
    site = CUT + 3
    new = "T" if a[site] != "T" else "C"
    edited = substitute(a, site, new)
    high = "I" * len(a)
    low_at_site = high[:site] + "+" + high[site + 1 :]
    records = [
        ("e1", edited, high),
        ("e2", edited, high),
        ("u1", a, high),
        ("m1", edited, low_at_site),
    ]
    r1 = _fastq(tmp_path / "p.fq", records)
    geometries, expected = layout(
        [("amp", a)], GUIDE, EditSpec(mode="prime", expected_amplicon=edited)
    )
    tally = quantify_sample(r1, None, geometries, expected).on_target
    assert tally.target_unknown_reads == 1
    # shared 2:1 like the known reads: 2.67 intended, 1.33 unmodified -> 3 and 1
    assert (tally.outcome_counts.intended_edit, tally.outcome_counts.unmodified) == (3, 1)


def test_reading_in_a_second_process_gives_the_serial_counts(tmp_path: Path) -> None:
    """Reads read and masked by a child process (``workers=2``) give the serial result, every
    count and the allele table, single-end and paired-end."""
    import dataclasses

    mix = base_editor_mix(scale=6)
    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, mix, seed=71, error_start=0.004, error_end=0.01)
    geometries, expected = layout([("amp", AMPLICON)], GUIDE, BE)
    serial_settings = QuantifySettings(chunk_reads=700, workers=1)
    serial = quantify_sample(r1, None, geometries, expected, serial_settings)
    parallel = quantify_sample(
        r1, None, geometries, expected, dataclasses.replace(serial_settings, workers=2)
    )
    assert parallel.model_dump() == serial.model_dump()
    assert parallel.on_target.allele_table == serial.on_target.allele_table
    m1, m2 = tmp_path / "m_R1.fq.gz", tmp_path / "m_R2.fq.gz"
    simulate_amplicon_reads(m1, m2, mix[:4], seed=72, read_length=150, error_end=0.01)
    serial = quantify_sample(m1, m2, geometries, expected, serial_settings)
    parallel = quantify_sample(
        m1, m2, geometries, expected, dataclasses.replace(serial_settings, workers=2)
    )
    assert parallel.model_dump() == serial.model_dump()
    assert serial.reads.merged is not None and serial.reads.merged > 0


def test_base_counts_equal_a_count_of_the_projections() -> None:
    """Per-position base counts (reference bases plus the cells that differ) against a plain
    count over every read's projection, weights included, across several row blocks."""
    import numpy as np

    from pmpath.evidence.editing.align import Indel
    from pmpath.evidence.editing.classify import AmpliconTally

    rng = np.random.default_rng(3)
    geometries, _ = layout([("amp", AMPLICON)], GUIDE, EditSpec(mode="nuclease"))
    tally = AmpliconTally(geometries[0], on_target=True)
    projections: list[str] = []
    weights: list[int] = []
    indels: list[tuple[Indel, ...]] = []
    for _ in range(9000):  # more rows than one block of the tally
        bases = list(AMPLICON)
        for index in rng.choice(len(bases), size=int(rng.integers(0, 6)), replace=False):
            bases[int(index)] = str(rng.choice(list("ACGTN")))
        found: tuple[Indel, ...] = ()
        if rng.random() < 0.2:
            start, size = int(rng.integers(90, 140)), int(rng.integers(1, 30))
            bases[start : start + size] = "-" * size
            found = (Indel("deletion", start, size),)
        projections.append("".join(bases))
        weights.append(int(rng.integers(1, 50)))
        indels.append(found)
    tally.add(projections, weights, indels)
    expected = np.zeros_like(tally.base_counts)
    for projection, weight in zip(projections, weights, strict=True):
        for position, base in enumerate(projection):
            expected["ACGTN-".index(base), position] += weight
    assert np.array_equal(tally.base_counts, expected)


def test_reads_with_too_many_unknown_bases_and_empty_reads_are_counted_out(tmp_path: Path) -> None:
    """Unknown bases (N as read, or quality below the threshold) per read against the rule
    ``N > max_unknown_fraction * length``, with empty reads at the end of the chunk."""
    from pmpath.evidence.editing.reads import ReadTally, read_chunks

    a = AMPLICON
    high = "I" * len(a)
    limit = int(0.15 * len(a))  # 37 of 250: allowed; 38: too many
    records = [
        ("ok", a, high),
        ("at_limit", "N" * limit + a[limit:], high),
        ("over_by_quality", a, "#" * (limit + 1) + high[limit + 1 :]),
        ("over_mixed", "N" * 20 + a[20:], high[:20] + "#" * (limit - 19) + high[limit + 1 :]),
        ("empty1", "", ""),
        ("empty2", "", ""),
    ]
    tally = ReadTally()
    chunks = list(
        read_chunks(_fastq(tmp_path / "n.fq", records), None, tally, max_unknown_fraction=0.15)
    )
    kept = [m for chunk in chunks for m in chunk.counts]
    assert kept == [a, "N" * limit + a[limit:]]
    assert (tally.total, tally.too_many_unknown_bases, tally.passed_filter) == (6, 2, 2)


def test_the_reading_process_reports_bad_input_as_the_serial_run_does(tmp_path: Path) -> None:
    """A truncated gzip or a malformed record met by the reading process is named with its
    file and record exactly as by the serial run."""
    import dataclasses

    a = AMPLICON
    geometries, _ = layout([("amp", a)], GUIDE, EditSpec(mode="nuclease"))
    text = "".join(f"@r{i}\n{a}\n+\n{'I' * len(a)}\n" for i in range(3000))
    data = gzip.compress(text.encode())
    truncated = tmp_path / "cut.fq.gz"
    truncated.write_bytes(data[: len(data) // 2])
    bad = tmp_path / "bad.fq"
    bad.write_text(text + f"@r3000\n{a}\n+\n{'I' * (len(a) - 1)}\n" + text)
    serial = QuantifySettings(chunk_reads=500, workers=1)
    for path in (truncated, bad):
        messages = []
        for settings in (serial, dataclasses.replace(serial, workers=2)):
            with pytest.raises(InvalidInputError) as info:
                quantify_sample(path, None, geometries, None, settings)
            messages.append(str(info.value))
        assert messages[0] == messages[1]
    assert "record 3001" in messages[1]


def test_the_reading_process_imports_only_the_reader() -> None:
    """The child that reads the reads starts from a bare Python: importing the reader loads
    numpy, dnaio and xopen, not the aligner, the result models, the CLI, the web stack or the
    statistics libraries (each would add its memory to every run's process tree)."""
    import subprocess
    import sys

    heavy = ("pydantic", "pywfa", "typer", "rich", "fastapi", "scipy", "matplotlib", "numba")
    code = (
        "import sys; import pmpath.evidence.editing.reader; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_a_chunk_keeps_the_last_read_as_read_of_each_masked_read_with_unknown_bases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk's distinct masked reads, counted in order of first occurrence, with the read
    as read of the last read of each that holds an N; checked against the masking rule applied
    read by read (Phred below 20 -> N), across blocks of FASTQ text and with reads filtered
    out."""
    import random
    from collections import Counter

    import pmpath.evidence.editing.single_end as single_end
    from pmpath.evidence.editing.reads import ReadTally, read_chunks

    monkeypatch.setattr(single_end, "BLOCK_BYTES", 700_000)  # about 1,300 records a block

    rng = random.Random(5)
    a = AMPLICON
    records = []
    for i in range(10_321):
        sequence = list(a)
        quality = ["I"] * len(a)
        for _ in range(rng.choice((0, 0, 1, 2, 40))):  # 40 low bases: over the 15% limit
            at = rng.randrange(len(a))
            sequence[at] = rng.choice("ACGT")
            quality[at] = "#"
        records.append((f"r{i}", "".join(sequence), "".join(quality)))
    chunk_reads = 6_000
    tally = ReadTally()
    chunks = list(
        read_chunks(
            _fastq(tmp_path / "r.fq", records), None, tally, max_unknown_fraction=0.15,
            chunk_reads=chunk_reads,
        )
    )  # fmt: skip
    assert len(chunks) == 2  # 6,000 and 4,321 reads, chunks ending inside blocks
    for number, chunk in enumerate(chunks):
        counts: Counter[str] = Counter()
        raw: dict[str, str] = {}
        for _, sequence, quality in records[number * chunk_reads : (number + 1) * chunk_reads]:
            masked = "".join(b if q != "#" else "N" for b, q in zip(sequence, quality, strict=True))
            if masked.count("N") > 0.15 * len(masked):
                continue
            counts[masked] += 1
            if "N" in masked:
                raw[masked] = sequence
        assert list(chunk.counts.items()) == list(counts.items())
        assert {m: chunk.raw_of(m) for m in chunk.counts if "N" in m} == raw
        assert all(len(chunk.unknown[m]) == m.count("N") for m in raw)  # the bases at N only
    assert tally.too_many_unknown_bases > 0


def test_a_reading_process_that_cannot_start_leaves_the_reading_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child Python that exits before its first chunk (one that cannot import pmpath, say):
    the reads are read in this process, with the counts of the serial run; a child that stops
    after it has sent chunks is an error."""
    import dataclasses

    import pmpath.evidence.editing.reader as reader

    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, base_editor_mix(), seed=3)
    geometries, expected = layout([("amp", AMPLICON)], GUIDE, BE)
    serial = QuantifySettings(chunk_reads=300, workers=1)
    expected_counts = quantify_sample(r1, None, geometries, expected, serial)
    monkeypatch.setattr(reader, "_CHILD", "import sys; sys.exit('no pmpath here {root}')")
    fallback = quantify_sample(
        r1, None, geometries, expected, dataclasses.replace(serial, workers=2)
    )
    assert fallback.model_dump() == expected_counts.model_dump()
    stops = (
        "import sys, pickle; sys.path.insert(0, {root!r}); "
        "from pmpath.evidence.editing.reader import distinct_chunks; "
        "from pmpath.evidence.editing.reads import ReadTally; "
        "request = pickle.load(sys.stdin.buffer); "
        "chunk = next(iter(distinct_chunks(request, ReadTally()))); "
        "pickle.dump(('chunk', chunk), sys.stdout.buffer); sys.exit('stopped')"
    )
    monkeypatch.setattr(reader, "_CHILD", stops)
    with pytest.raises(RuntimeError, match="stopped"):
        quantify_sample(r1, None, geometries, expected, dataclasses.replace(serial, workers=2))


def test_the_reading_process_survives_being_stopped_and_continued(tmp_path: Path) -> None:
    """Chunks sent by a reading process that is stopped and continued again and again (Ctrl-Z
    then ``fg``, a profiler attaching) arrive whole: the chunks read in this process, each
    distinct read with its count and read as read (once, a write cut short by the stop lost
    bytes and the parent met a corrupt pickle)."""
    import os
    import signal
    import threading
    import time

    from pmpath.evidence.editing.reader import ReaderProcess, ReadingRequest
    from pmpath.evidence.editing.reads import ReadTally, read_chunks

    r1 = tmp_path / "r1.fq.gz"
    simulate_amplicon_reads(r1, None, base_editor_mix(scale=8), seed=5, error_end=0.05)
    request = ReadingRequest(r1, None, 20, 0.0, 0.15, 1500)
    tally = ReadTally()
    here = [
        (dict(c.counts), c.unknown, c.reads_so_far)
        for c in read_chunks(r1, None, tally, max_unknown_fraction=0.15, chunk_reads=1500)
    ]
    assert sum(len(counts) for counts, _, _ in here) * len(AMPLICON) > 16 * 65536  # pipe fills
    done = threading.Event()
    with ReaderProcess(request) as reader:
        pid = reader._process.pid

        def stop_and_continue() -> None:
            while not done.is_set():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
                    time.sleep(0.002)
                    os.kill(pid, signal.SIGCONT)
                time.sleep(0.003)

        poker = threading.Thread(target=stop_and_continue)
        poker.start()
        try:
            there = []
            for chunk in reader:
                time.sleep(0.02)  # the child blocks in its write meanwhile
                there.append((dict(chunk.counts), chunk.unknown, chunk.reads_so_far))
        finally:
            done.set()
            poker.join()
    assert there == here
    assert reader.tally == tally
