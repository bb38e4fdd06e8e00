"""Sign-in settings: how failed passwords are delayed and locked out, how long sessions last.

The defaults follow OWASP ASVS 4.0 V2.2.1 (anti-automation: rate limiting, then a soft lock an
administrator clears) and 21 CFR 11.300(d) (safeguards against unauthorized use of passwords):
5 failures within 15 minutes lock the account; after the n-th failure in that window the
attempt waits 1 s * 2**(n-1), at most 8 s. Sessions last 12 hours (absolute; no idle timeout).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SignInSettings:
    """Sign-in and lockout settings (a workspace's ``[security]`` table overrides the defaults).

    ``max_failed`` failures within ``window_minutes`` lock the account; after the n-th failure
    in the window pmpath waits ``delay_seconds * 2**(n-1)``, at most ``max_delay_seconds``.
    Sessions last ``session_hours``.
    """

    max_failed: int = 5
    window_minutes: float = 15.0
    delay_seconds: float = 1.0
    max_delay_seconds: float = 8.0
    session_hours: float = 12.0

    def delay_after(self, n_failures: int) -> float:
        """Return the wait in seconds after the ``n_failures``-th failure in the window."""
        if n_failures < 1:
            return 0.0
        return float(min(self.delay_seconds * 2 ** (n_failures - 1), self.max_delay_seconds))


DEFAULT_SIGN_IN = SignInSettings()
