"""Manufacturing (CMC) analytics: release judgement, control charts, sequence identity, the
chain-of-identity identifier, custody rules and label payloads. Pure: no database, no writing."""
