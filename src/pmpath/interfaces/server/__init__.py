"""The team server: a REST API under ``/api/v1`` (:mod:`.api`) and server-rendered pages
(:mod:`.pages`) over one workspace, built by :func:`pmpath.interfaces.server.app.create_app`
and run by ``pmpath serve``."""
