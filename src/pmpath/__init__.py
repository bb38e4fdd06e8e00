"""pmpath: evidence, audit and decisions for the FDA plausible-mechanism (PM) pathway.

Layers (imports point downward only, see docs/architecture.md):
``interfaces`` -> ``services`` -> ``evidence`` / ``adapters`` -> ``domain``.
"""

__version__ = "0.1.0"
