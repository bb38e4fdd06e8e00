"""Domain: pydantic models, enums, errors and canonical digests shared by every layer.

Nothing here knows about the database, the web or the command line.
"""
