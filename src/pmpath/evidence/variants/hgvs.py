"""HGVS variant descriptions: parse and validate the kinds bespoke therapies target.

What it computes: a typed :class:`HgvsVariant` from text such as ``NM_001875.5:c.1003C>T``,
``c.100_102del``, ``c.76dupT``, ``c.88+2T>G``, ``c.-12_-11insAG``, ``c.*5delinsTT``,
``g.12345A>G`` or ``p.(Gln335Ter)`` / ``p.Q335*``: substitution, deletion, duplication,
insertion and deletion-insertion in c. (coding DNA, with 5' UTR ``-k``, 3' UTR ``*k`` and
intronic ``+d``/``-d`` offsets), n., g. and p. (protein, 3- or 1-letter amino acids, predicted
consequences in parentheses) notation.

Method: the HGVS nomenclature recommendations (den Dunnen et al., Hum Mutat 2016;37:564;
varnomen.hgvs.org, v21). Positions, ranges and edits are matched with regular expressions, then
checked for order (start before end), adjacency of insertion flanks, and the length of stated
deleted sequence.

Why hand-written: biocommons ``hgvs`` (Apache-2.0) parses this and more but pulls in a
PostgreSQL driver, IPython and SeqRepo, and needs an accession; ``mavehgvs`` rejects predicted
protein consequences ``p.(...)``. Mapping to the genome lives in :mod:`.transcript`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from pmpath.domain.contract import FrozenModel
from pmpath.domain.errors import InvalidInputError

EditKind = Literal[
    "substitution", "deletion", "duplication", "insertion", "delins", "frameshift", "extension"
]
Coordinate = Literal["c", "n", "g", "p"]

AMINO_ACIDS: dict[str, str] = {
    "A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "Q": "Gln", "E": "Glu",
    "G": "Gly", "H": "His", "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe",
    "P": "Pro", "S": "Ser", "T": "Thr", "W": "Trp", "Y": "Tyr", "V": "Val", "U": "Sec",
    "O": "Pyl", "*": "Ter", "X": "Ter",
}  # fmt: skip
"""One-letter amino-acid codes (and ``*``/``X`` for a stop) -> three-letter codes."""

THREE_TO_ONE: dict[str, str] = {v: k for k, v in AMINO_ACIDS.items() if k != "X"}

_ACCESSION = r"(?:(?P<acc>[A-Za-z][A-Za-z0-9_]*(?:\.\d+)?(?:\([A-Za-z0-9_.]+\))?):)?"
_CPOS = r"[-*]?\d+(?:[+-]\d+)?"
_GPOS = r"\d+"
_SEQ = r"[ACGTN]+"
_AA3 = "|".join(sorted(set(THREE_TO_ONE), key=len, reverse=True))
_AA = rf"(?:{_AA3}|[ACDEFGHIKLMNPQRSTVWY*X])"


class Position(FrozenModel):
    """One position: ``base`` (c.: CDS number, negative in the 5' UTR; ``utr3`` for c.*k;
    g./n.: sequence number; p.: residue number), ``offset`` into an intron (c./n.), and for p.
    the reference residue (three-letter)."""

    base: int
    offset: int = 0
    utr3: bool = False
    amino_acid: str | None = None

    def __str__(self) -> str:
        if self.amino_acid is not None:
            return f"{self.amino_acid}{self.base}"
        text = f"*{self.base}" if self.utr3 else str(self.base)
        if self.offset:
            text += f"{self.offset:+d}"
        return text

    def order_key(self) -> tuple[int, int, int]:
        """Return a key that sorts positions 5' to 3' along the reference sequence."""
        return (1 if self.utr3 else 0, self.base, self.offset)


class HgvsVariant(FrozenModel):
    """A parsed HGVS variant description."""

    text: str = Field(description="the description as given")
    accession: str | None
    coordinate: Coordinate
    edit: EditKind
    start: Position
    end: Position
    ref: str | None = Field(default=None, description="stated reference bases/residue(s)")
    alt: str | None = Field(default=None, description="new bases or residues (3-letter)")
    predicted: bool = Field(default=False, description="p.(...) predicted consequence")

    @property
    def description(self) -> str:
        """Return the description without the accession, e.g. ``c.1003C>T``."""
        return self.text.split(":", 1)[1] if ":" in self.text else self.text

    @property
    def is_single_position(self) -> bool:
        """Return True if start and end are the same position."""
        return self.start == self.end


MAX_POSITION_DIGITS = 10
"""No genome coordinate needs more digits (the longest human chromosome is 248,956,422 bp)."""


def _bad(text: str, why: str) -> InvalidInputError:
    return InvalidInputError(f"HGVS {text!r} does not parse: {why}")


def _cpos(token: str, coordinate: Coordinate, text: str) -> Position:
    match = re.fullmatch(r"(?P<utr>[-*]?)(?P<base>\d+)(?P<off>[+-]\d+)?", token)
    if match is None:
        raise _bad(text, f"position {token[:40]!r} is not a position")
    if len(match["base"]) > MAX_POSITION_DIGITS or len(match["off"] or "") > MAX_POSITION_DIGITS:
        raise _bad(text[:60] + ("..." if len(text) > 60 else ""), "a position has more than "
                   f"{MAX_POSITION_DIGITS} digits (the longest chromosome has 9)")  # fmt: skip
    base = int(match["base"])
    if base == 0:
        raise _bad(text, "there is no position 0 in HGVS")
    if coordinate != "c" and match["utr"]:
        raise _bad(text, f"{coordinate}. positions cannot start with '-' or '*'")
    if coordinate == "g" and match["off"]:
        raise _bad(text, "g. positions have no intronic offset")
    offset = int(match["off"]) if match["off"] else 0
    if match["off"] and offset == 0:
        raise _bad(text, "an intronic offset cannot be 0")
    return Position(
        base=-base if match["utr"] == "-" else base, offset=offset, utr3=match["utr"] == "*"
    )


def _three(aa: str) -> str:
    return AMINO_ACIDS[aa] if len(aa) == 1 else aa


_NUC_EDIT = re.compile(
    rf"(?P<start>{_CPOS})(?:_(?P<end>{_CPOS}))?"
    rf"(?:(?P<ref>[ACGTN])>(?P<alt>[ACGTN])|(?P<op>delins|del|dup|ins)(?P<seq>{_SEQ})?)$"
)
_PROT_EDIT = re.compile(
    rf"(?P<aa1>{_AA})(?P<pos1>\d+)(?:_(?P<aa2>{_AA})(?P<pos2>\d+))?"
    rf"(?:(?P<op>delins|del|dup|ins)(?P<seq>(?:{_AA})+)?|(?P<alt>{_AA}|=))$"
)


def parse_hgvs(text: str) -> HgvsVariant:
    """Return the parsed form of an HGVS description (HGVS recommendations v21).

    Accepts an optional accession (``NM_001875.5:``), then ``c.``, ``n.``, ``g.`` or ``p.``.
    InvalidInputError with a one-line reason when the text does not parse or breaks a rule
    (start after end, insertion flanks not adjacent, stated deleted bases of the wrong length).
    """
    raw = text.strip()
    match = re.fullmatch(_ACCESSION + r"(?P<coord>[cngp])\.(?P<body>.+)", raw)
    if match is None:
        raise _bad(raw, "expected [ACCESSION:]c.|n.|g.|p. followed by a position and an edit")
    coordinate: Coordinate = match["coord"]  # type: ignore[assignment]
    body = match["body"]
    if coordinate == "p":
        return _parse_protein(raw, match["acc"], body)
    edit = _NUC_EDIT.match(body)
    if edit is None:
        raise _bad(
            raw,
            "expected an edit like 1003C>T, 100_102del, 100dup, 100_101insAG or 100_102delinsTT",
        )
    start = _cpos(edit["start"], coordinate, raw)
    end = _cpos(edit["end"], coordinate, raw) if edit["end"] else start
    if end.order_key() < start.order_key() or (edit["end"] and end == start):
        raise _bad(raw, f"range start {start} must lie before its end {end}")
    op = edit["op"]
    seq = edit["seq"]
    exonic_length = None
    if start.offset == 0 and end.offset == 0 and start.utr3 == end.utr3:
        exonic_length = end.base - start.base + 1 - (1 if start.base < 0 < end.base else 0)
    if op is None:
        if edit["end"]:
            raise _bad(raw, "a substitution changes one base; use delins for more")
        if edit["ref"] == edit["alt"]:
            raise _bad(raw, f"substitution {edit['ref']}>{edit['alt']} changes nothing")
        kind: EditKind = "substitution"
        ref, alt = edit["ref"], edit["alt"]
    elif op == "ins":
        if not edit["end"]:
            raise _bad(raw, "an insertion needs the two flanking positions, e.g. 100_101insAG")
        if seq is None:
            raise _bad(raw, "an insertion needs the inserted bases")
        if exonic_length is not None and exonic_length != 2:
            raise _bad(raw, f"insertion flanks {start} and {end} are not adjacent")
        kind, ref, alt = "insertion", None, seq
    elif op == "delins":
        if seq is None:
            raise _bad(raw, "a deletion-insertion needs the inserted bases")
        kind, ref, alt = "delins", None, seq
    else:
        kind = "deletion" if op == "del" else "duplication"
        ref, alt = seq, None
        if seq is not None and exonic_length is not None and len(seq) != exonic_length:
            raise _bad(raw, f"{op} states {len(seq)} bases but {start}_{end} spans {exonic_length}")
    return HgvsVariant(
        text=raw,
        accession=match["acc"],
        coordinate=coordinate,
        edit=kind,
        start=start,
        end=end,
        ref=ref,
        alt=alt,
    )


_PROT_FS = re.compile(
    rf"(?P<aa1>{_AA})(?P<pos1>\d+)(?P<alt>{_AA})?fs(?:(?:Ter|\*)(?P<stop>\d+|\?))?$"
)
_PROT_EXT = re.compile(rf"(?P<aa1>Ter|\*)(?P<pos1>\d+)(?P<alt>{_AA})?ext(?:Ter|\*)(\d+|\?)$")


def _parse_protein(raw: str, accession: str | None, body: str) -> HgvsVariant:
    predicted = body.startswith("(") and body.endswith(")")
    inner = body[1:-1] if predicted else body
    specials: tuple[tuple[re.Pattern[str], EditKind], ...] = (
        (_PROT_FS, "frameshift"),
        (_PROT_EXT, "extension"),
    )
    for pattern, special_kind in specials:
        special = pattern.fullmatch(inner)
        if special is not None:
            start = Position(base=int(special["pos1"]), amino_acid=_three(special["aa1"]))
            return HgvsVariant(
                text=raw,
                accession=accession,
                coordinate="p",
                edit=special_kind,
                start=start,
                end=start,
                ref=start.amino_acid,
                alt=_three(special["alt"]) if special["alt"] else None,
                predicted=predicted,
            )
    edit = _PROT_EDIT.fullmatch(inner)
    if edit is None:
        raise _bad(
            raw,
            "expected a protein edit like Gln335Ter, Gln335*, Lys10del, Gly4_Gln6dup, "
            "Lys2_Met3insGlnSer or Cys28delinsTrpVal",
        )
    start = Position(base=int(edit["pos1"]), amino_acid=_three(edit["aa1"]))
    end = start
    if edit["pos2"]:
        end = Position(base=int(edit["pos2"]), amino_acid=_three(edit["aa2"]))
        if end.base <= start.base:
            raise _bad(raw, f"range start {start} must lie before its end {end}")
    if start.base == 0:
        raise _bad(raw, "there is no residue 0")
    residues = None
    if edit["seq"]:
        residues = "".join(_three(a) for a in re.findall(_AA, edit["seq"]))
    op = edit["op"]
    kind: EditKind
    if op is None:
        if edit["pos2"]:
            raise _bad(raw, "a substitution changes one residue; use delins for more")
        alt = start.amino_acid if edit["alt"] == "=" else _three(edit["alt"])
        return HgvsVariant(
            text=raw,
            accession=accession,
            coordinate="p",
            edit="substitution",
            start=start,
            end=end,
            ref=start.amino_acid,
            alt=alt,
            predicted=predicted,
        )
    if op == "ins":
        if not edit["pos2"] or end.base != start.base + 1:
            raise _bad(raw, "a protein insertion needs two adjacent flanking residues")
        if residues is None:
            raise _bad(raw, "an insertion needs the inserted residues")
        kind = "insertion"
    elif op == "delins":
        if residues is None:
            raise _bad(raw, "a deletion-insertion needs the inserted residues")
        kind = "delins"
    else:
        kind = "deletion" if op == "del" else "duplication"
    return HgvsVariant(
        text=raw,
        accession=accession,
        coordinate="p",
        edit=kind,
        start=start,
        end=end,
        ref=None,
        alt=residues,
        predicted=predicted,
    )


def protein_substitution(residue: int, ref_aa: str, alt_aa: str, *, predicted: bool = True) -> str:
    """Return the HGVS p. description of a one-residue change, e.g. ``p.(Gln335Ter)``.

    ``ref_aa``/``alt_aa`` are one-letter codes (``*`` for a stop); identical residues give
    ``p.(Gln335=)`` (synonymous), as the HGVS recommendations write it.
    """
    ref3 = AMINO_ACIDS[ref_aa]
    body = f"{ref3}{residue}{'=' if ref_aa == alt_aa else AMINO_ACIDS[alt_aa]}"
    return f"p.({body})" if predicted else f"p.{body}"
