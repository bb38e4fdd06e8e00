"""Services: the use cases (workspace, audit, users and signatures, crosswalk, demo).

Each service opens its own reader or unit of work on a :class:`pmpath.adapters.store.Store`, so
one call is one transaction and one set of audit events.
"""
