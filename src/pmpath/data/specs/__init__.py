"""Platform specifications shipped with pmpath (YAML, validated by pmpath.domain.cmc)."""
