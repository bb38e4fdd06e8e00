"""Adapters: storage and, later, real-world data, reports and file I/O."""
