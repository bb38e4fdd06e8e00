"""Figures and HTML/PDF pages rendered from analysis results (matplotlib, object API, Agg).
Reports never compute: everything they draw is in the result they are given."""
