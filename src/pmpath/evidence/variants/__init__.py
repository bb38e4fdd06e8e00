"""Element 1, the molecular abnormality: ACMG/AMP classification (2015 rules and the points scale),
HGVS parsing and mapping to the genome with a reference check, the PVS1 tree with NMD, and the
variant's causality for the pathway (:mod:`.causality`)."""
