"""``pmpath demo``: an application on top of the services, like any user of pmpath.

One platform (an adenine base editor in LNP for urea-cycle disorders) serves two diseases (CPS1
and OTC deficiency); five pseudonymous patients each get their own bespoke product for their own
variant, and every analysis is a typed request run through :mod:`pmpath.services.analyses`, the
same service the CLI, case files and the API use, so the demo's evidence ids are the ones a user
gets by running the same requests. Nothing below the interfaces imports this package.
"""
