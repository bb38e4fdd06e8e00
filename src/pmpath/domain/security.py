"""Sign-in settings: how failed passwords are delayed and locked out, how long sessions last.

The defaults follow OWASP ASVS 4.0 V2.2.1 (anti-automation: rate limiting, then a soft lock an
administrator clears) and 21 CFR 11.300(d) (safeguards against unauthorized use of passwords):
5 failures within 15 minutes lock the account; after the n-th failure in that window the
attempt waits 1 s * 2**(n-1), at most 8 s. Sessions last 12 hours at most (absolute) and end
after 30 minutes without use (idle): NIST SP 800-63B section 4.2.3 (AAL2: 12 h, 30 min of
inactivity), OWASP ASVS 4.0 V3.3.2.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SignInSettings:
    """Sign-in and lockout settings (a workspace's ``[security]`` table overrides the defaults).

    ``max_failed`` failures within ``window_minutes`` lock the account; after the n-th failure
    in the window pmpath waits ``delay_seconds * 2**(n-1)``, at most ``max_delay_seconds``.
    Sessions last ``session_hours`` and end after ``session_idle_minutes`` without use (0: no
    idle timeout).
    """

    max_failed: int = 5
    window_minutes: float = 15.0
    delay_seconds: float = 1.0
    max_delay_seconds: float = 8.0
    session_hours: float = 12.0
    session_idle_minutes: float = 30.0

    @property
    def touch_seconds(self) -> float:
        """How stale a session's last-use time may get before a use rewrites it: a tenth of the
        idle timeout, at most 5 minutes (so an active session is written once in a few minutes,
        not at every request; the idle clock is early by at most this much)."""
        return min(self.session_idle_minutes * 6.0, 300.0)

    def delay_after(self, n_failures: int) -> float:
        """Return the wait in seconds after the ``n_failures``-th failure in the window."""
        if n_failures < 1:
            return 0.0
        return float(min(self.delay_seconds * 2 ** (n_failures - 1), self.max_delay_seconds))


DEFAULT_SIGN_IN = SignInSettings()
