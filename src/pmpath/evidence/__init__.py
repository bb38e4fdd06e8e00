"""Evidence: pure analytics for the pathway's elements (variants, design, editing, off-target,
natural history, platform and surveillance statistics, growth).

Rules for every module here: no database, no web, no CLI (``tests/test_layers.py`` enforces it);
a function from typed inputs to a typed, JSON-serialisable result that carries its parameters,
input digests (``pmpath.domain.canonical``) and the pmpath version; a docstring citing the method.
"""
