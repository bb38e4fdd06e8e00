"""The demo's records: one platform serving two diseases, five patients with their own variants
and bespoke products, and the synthetic genes the products were designed on.

Modelled on the first bespoke base-editing case (CPS1 deficiency, OMIM:237300; a paternal
nonsense variant, Musunuru et al., NEJM 2025) and on the platform trial that followed it
(NCT07667387: urea-cycle disorders, one editor and LNP, a guide per patient). Patients are
pseudonymous with shifted dates; genes, variants and guides are synthetic
(:mod:`pmpath.simulate.gene`), transcript accessions are labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pmpath.domain.enums import (
    CaseStatus,
    Delivery,
    EndpointKind,
    Inheritance,
    Modality,
    Route,
    SequenceKind,
    Sex,
    Zygosity,
)
from pmpath.domain.models import (
    BespokeSequence,
    Case,
    Disease,
    Endpoint,
    Patient,
    Platform,
    Product,
    Variant,
)
from pmpath.simulate.gene import GeneSpec, SyntheticGene, build_gene, protein_at, variant_at

PLATFORM_ID = "PLAT-UCD-ABE"
CASE_ID = "CASE-DEMO-0001"
EDITOR = "ABE8e"


@dataclass(frozen=True)
class DemoDisease:
    """A disease the platform serves, with its synthetic gene and illustrative evidence codes."""

    disease: Disease
    gene: GeneSpec
    zygosity: Zygosity
    codes: tuple[str, ...]
    """ACMG/AMP codes the curator gives (PVS1 comes from the PVS1 tree): illustrative."""


_ENDPOINTS = [
    Endpoint(name="plasma ammonia", kind=EndpointKind.BIOMARKER, unit="umol/L"),
    Endpoint(name="hyperammonemic crises", kind=EndpointKind.EVENT_RATE, unit="events/year"),
    Endpoint(name="dietary protein tolerance", kind=EndpointKind.CLINICAL_OUTCOME, unit="g/kg/d"),
]

DISEASES: dict[str, DemoDisease] = {
    "DIS-CPS1D": DemoDisease(
        disease=Disease(
            id="DIS-CPS1D",
            name="Carbamoyl phosphate synthetase 1 deficiency",
            gene_symbol="CPS1",
            inheritance=Inheritance.AUTOSOMAL_RECESSIVE,
            omim_id="OMIM:237300",
            endpoints=_ENDPOINTS,
        ),
        gene=GeneSpec(
            gene="CPS1",
            contig="CPS1_synthetic",
            transcript="NM_001875.5",
            codons=(230, 300, 335),
            seed=20240301,
        ),
        zygosity=Zygosity.HETEROZYGOUS,
        # PM3: in trans with a pathogenic variant (recessive); PP4: neonatal hyperammonaemia
        # with low citrulline and normal orotic acid, specific for CPS1 deficiency
        codes=("PM2_Supporting", "PM3", "PP4"),
    ),
    "DIS-OTCD": DemoDisease(
        disease=Disease(
            id="DIS-OTCD",
            name="Ornithine transcarbamylase deficiency",
            gene_symbol="OTC",
            inheritance=Inheritance.X_LINKED_RECESSIVE,
            omim_id="OMIM:311250",
            endpoints=_ENDPOINTS,
        ),
        gene=GeneSpec(
            gene="OTC",
            contig="OTC_synthetic",
            transcript="NM_000531.6",
            codons=(150, 240),
            seed=20240611,
            exon_cds_sizes=(90, 210, 240, 300, 222),
        ),
        zygosity=Zygosity.HEMIZYGOUS,
        # PP4: hyperammonaemia with high orotic acid in a boy, specific for OTC deficiency
        codes=("PM2_Supporting", "PP4"),
    ),
}


@dataclass(frozen=True)
class DemoPatient:
    """One patient of the platform's consecutive series: their disease and variant codon, shifted
    birth and dosing dates, and whether the simulation gives them benefit."""

    case_id: str
    disease_id: str
    codon: int
    birth: date
    dosed: date
    responds: bool

    @property
    def product_id(self) -> str:
        """The bespoke product made for this patient's variant."""
        gene = DISEASES[self.disease_id].gene.gene
        return f"PROD-{gene}-Q{self.codon}X"


PATIENTS: list[DemoPatient] = [
    DemoPatient(CASE_ID, "DIS-CPS1D", 335, date(2024, 1, 15), date(2024, 3, 1), True),
    DemoPatient("CASE-DEMO-0002", "DIS-OTCD", 150, date(2024, 5, 2), date(2024, 6, 17), True),
    DemoPatient("CASE-DEMO-0003", "DIS-CPS1D", 230, date(2024, 8, 20), date(2024, 10, 3), False),
    DemoPatient("CASE-DEMO-0004", "DIS-OTCD", 240, date(2024, 12, 5), date(2025, 1, 20), True),
    DemoPatient("CASE-DEMO-0005", "DIS-CPS1D", 300, date(2025, 2, 14), date(2025, 4, 1), True),
]
"""The platform's patients in treatment order; the third is simulated without benefit."""


def gene(disease_id: str) -> SyntheticGene:
    """Return the synthetic gene of a demo disease (built deterministically)."""
    return build_gene(DISEASES[disease_id].gene)


def platform() -> Platform:
    """The demo platform: one editor and LNP, a bespoke guide per patient."""
    return Platform(
        id=PLATFORM_ID,
        name="LNP.UCD.ABE",
        sponsor="Demo pediatric gene-editing consortium",
        modality=Modality.BASE_EDITOR,
        delivery=Delivery.LNP,
        route=Route.INTRAVENOUS,
        fixed_components=["adenine base editor mRNA", "ionizable lipid nanoparticle"],
        description="Urea-cycle disorder platform: one editor and LNP, a bespoke guide per patient",
    )


def patient_records(demo: DemoPatient, pseudonym: str) -> tuple[Patient, Product, Case]:
    """Return the patient, their bespoke product and their case."""
    disease = DISEASES[demo.disease_id]
    spec = disease.gene
    variant = Variant(
        gene_symbol=spec.gene,
        hgvs=f"{spec.transcript}:{variant_at(demo.codon)}",
        protein_hgvs=protein_at(demo.codon),
        zygosity=disease.zygosity,
    )
    patient = Patient(
        id=pseudonym,
        disease_id=demo.disease_id,
        sex=Sex.MALE,
        birth_date_shifted=demo.birth,
        genotype=[variant],
    )
    product = Product(
        id=demo.product_id,
        platform_id=PLATFORM_ID,
        name=f"Bespoke ABE for {spec.gene} {variant_at(demo.codon)}",
        target_gene=spec.gene,
        target_variant_hgvs=variant.hgvs,
        bespoke_sequences=[
            BespokeSequence(
                name="guide spacer (synthetic demo sequence, not a clinical guide)",
                kind=SequenceKind.GUIDE_RNA_SPACER,
                sequence_5_to_3=gene(demo.disease_id).guides[demo.codon],
            )
        ],
        design_record={"editor": "adenine base editor", "intended_edit": "T>C (A>G on template)"},
    )
    case = Case(
        id=demo.case_id,
        patient_id=pseudonym,
        product_id=product.id,
        status=CaseStatus.TREATED,
        treatment_date_shifted=demo.dosed,
        notes="Demo case: synthetic data, shifted dates, pseudonymous patient",
    )
    return patient, product, case
