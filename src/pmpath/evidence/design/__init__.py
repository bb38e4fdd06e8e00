"""Element 2, the product targets the alteration: guide, pegRNA, ASO and siRNA checks against the
patient allele (:mod:`.check`), with editor profiles as cited data (:mod:`.editors`)."""
