"""The ``pmpath`` command line (Typer)."""
