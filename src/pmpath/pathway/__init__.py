"""The decision engine, above the evidence: policies (YAML, validated against the result models),
the five-element case decision and the platform's consecutive series, prior and recommendation.
Pure: no database, no web."""
