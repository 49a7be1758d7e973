"""Who is calling, and how often.

A request is authenticated by `Authorization: Bearer dly_…` (a personal token, see
services/tokens.py) or, without that header, by the browser session (the interactive docs),
CSRF-checked on writes. A header that names a bad token is refused even beside a valid session.
The token travels on as `request.api_token`: the access helpers narrow the user's membership by
it (generations/access.py)."""

import time

from django.conf import settings
from django.core.cache import cache
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle
from ninja.utils import check_csrf

from ..services.tokens import api_token_lookup

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_now = time.time  # a seam for tests


class TokenOrSession(HttpBearer):
    # Tells the docs page to send the CSRF token with "Try it out" (session writes need it).
    csrf = True

    def __call__(self, request):
        header = request.headers.get("Authorization")
        if header:
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer":
                return None
            token = api_token_lookup(secret=secret.strip())
            if token is None:
                return None
            request.user = token.user
            request.api_token = token
            return token
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request):
            raise HttpError(403, "CSRF check failed: send the csrftoken cookie's value.")
        return user

    def authenticate(self, request, token):  # pragma: no cover - __call__ does it all
        return None


class PerTokenRate(BaseThrottle):
    """A fixed one-minute window per token (per user for a session), counted in the shared
    cache (Redis) so every web process sees the same count. Over the limit: 429 with
    Retry-After, the seconds left in the window."""

    WINDOW = 60

    def allow_request(self, request) -> bool:
        limit = settings.DAILIES_API_RATE_PER_MINUTE
        if not limit:
            return True
        token = getattr(request, "api_token", None)
        ident = f"t{token.pk}" if token else f"u{request.user.pk}"
        now = _now()
        key = f"api-rate:{ident}:{int(now // self.WINDOW)}"
        cache.add(key, 0, self.WINDOW * 2)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, self.WINDOW * 2)
            count = 1
        request.api_retry_after = self.WINDOW - (now % self.WINDOW)
        self._wait = request.api_retry_after
        return count <= limit

    def wait(self) -> float:
        return max(1.0, getattr(self, "_wait", self.WINDOW))
