"""Typed analysis requests, one model per analysis kind (see :mod:`pmpath.domain.contract`).

They live in the domain so that every entry point (CLI, case files, the demo, the API) builds
them without importing the analytics; :mod:`pmpath.evidence.registry` maps each to its function.
"""
