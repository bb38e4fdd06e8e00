"""Case files: one YAML file that describes a case's records and the analyses that make its
evidence, for ``pmpath case run``.

Layout (paths in analyses are relative to the case file's folder)::

    platform: {id: PLAT-UCD-ABE, name: LNP.UCD.ABE, sponsor: ..., modality: base_editor,
               delivery: lnp, route: intravenous, fixed_components: [...]}
    disease:  {id: DIS-CPS1D, name: ..., gene_symbol: CPS1, inheritance: autosomal_recessive, ...}
    patient:  {id: PT-3DKZXNAB6K, disease_id: DIS-CPS1D, sex: male,
               birth_date_shifted: 2024-01-15,
               genotype: [{gene_symbol: CPS1, hgvs: ..., zygosity: heterozygous}]}
    product:  {id: ..., platform_id: ..., name: ..., target_gene: ..., target_variant_hgvs: ...,
               bespoke_sequences: [...]}
    case:     {id: CASE-0001, patient_id: ..., product_id: ..., status: treated,
               treatment_date_shifted: 2024-03-01}
    analyses:                       # pmpath commands; --case and --workspace are added
      - [variant, classify, --codes, "PVS1,PM2_Supporting,PP4"]
      - [design, check, --reference, ref.fa, --transcript, tx.json, ...]

Each record is created if missing, updated (as the next version, audited) if it differs, and left
alone if equal, so running a case file again changes nothing. A platform, disease or product that
already exists may be named by id alone (``platform_id`` in ``product`` suffices).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pmpath.adapters.store import Store, UnitOfWork
from pmpath.domain.errors import InvalidInputError
from pmpath.domain.models import Case, Disease, Entity, Patient, Platform, Product

ANALYSIS_GROUPS = frozenset({"variant", "design", "editing", "natural-history", "offtarget"})
"""The command groups a case file may run (each stores evidence with --case)."""


class CaseFile(BaseModel):
    """A parsed case file (records as dicts, validated against the domain models on apply)."""

    model_config = ConfigDict(extra="forbid")

    platform: dict[str, Any] | None = None
    disease: dict[str, Any] | None = None
    patient: dict[str, Any] | None = None
    product: dict[str, Any] | None = None
    case: dict[str, Any]
    analyses: list[list[str]] = Field(default_factory=list)


_ORDER: list[tuple[str, type[Entity]]] = [
    ("platform", Platform),
    ("disease", Disease),
    ("patient", Patient),
    ("product", Product),
    ("case", Case),
]


def read_case_file(path: Path) -> CaseFile:
    """Return the case file at ``path``; InvalidInputError naming the file and the key."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read case file {path}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path} must be a mapping with at least a 'case' section")
    try:
        parsed = CaseFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise InvalidInputError(f"{path}: {where}: {first['msg']}") from None
    for index, argv in enumerate(parsed.analyses, start=1):
        if not argv or argv[0] not in ANALYSIS_GROUPS:
            allowed = ", ".join(sorted(ANALYSIS_GROUPS))
            raise InvalidInputError(f"{path}: analyses.{index}: must start with one of: {allowed}")
    for section, model in _ORDER:
        raw = getattr(parsed, section)
        if raw is not None:
            try:
                model.model_validate({"version": 1, **raw})
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise InvalidInputError(f"{path}: {section}.{where}: {first['msg']}") from None
    return parsed


def apply_records(store: Store, case_file: CaseFile, *, actor: str, source: str) -> list[str]:
    """Create or update the file's records in one transaction; return what happened to each."""
    changes: list[str] = []
    with UnitOfWork(store, actor=actor, reason=f"case file {source}") as uow:
        for section, model in _ORDER:
            raw = getattr(case_file, section)
            if raw is None:
                continue
            record = model.model_validate({"version": 1, **raw})
            stored = uow.get(model, record.id)
            if stored is None:
                uow.add(record)
                changes.append(f"{section} {record.id} created")
                continue
            candidate = record.model_copy(update={"version": stored.version})
            if candidate == stored:
                changes.append(f"{section} {record.id} unchanged")
            else:
                updated = uow.update(candidate)
                changes.append(f"{section} {record.id} updated to version {updated.version}")
        uow.commit()
    return changes
