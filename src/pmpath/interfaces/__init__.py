"""Interfaces: thin entry points (CLI now; API and web pages later) over the services."""
