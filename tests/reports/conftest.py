"""Report tests draw results computed on the natural-history test cohort."""

from tests.evidence.naturalhistory.conftest import (  # noqa: F401  (fixtures)
    nh_cohort,
    nh_tables,
    truth,
    write_tables,
)
