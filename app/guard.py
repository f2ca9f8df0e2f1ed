"""What the server keeps from browsers: its model endpoint's key and its login password.

The server's model settings (TABLEPILOT_BASE_URL, TABLEPILOT_MODEL, TABLEPILOT_API_KEY) stay in
this process. A browser sees the endpoint without credentials, never the key; the key goes only
to the endpoint the server names. A person who types another URL must type their own key, and
TABLEPILOT_APP_LOCK_MODEL=1 takes the choice of model away from browsers altogether.
No Streamlit here.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit, urlunsplit

ENV_BASE_URL = "TABLEPILOT_BASE_URL"
ENV_MODEL = "TABLEPILOT_MODEL"
ENV_API_KEY = "TABLEPILOT_API_KEY"
ENV_LOCK_MODEL = "TABLEPILOT_APP_LOCK_MODEL"
ENV_PASSWORD = "TABLEPILOT_APP_PASSWORD"
ENV_LOGIN_ATTEMPTS = "TABLEPILOT_APP_LOGIN_ATTEMPTS"
ENV_LOGIN_WINDOW_S = "TABLEPILOT_APP_LOGIN_WINDOW_S"

# Sent when no key applies: an explicit key keeps the agent from falling back to the server's
# own TABLEPILOT_API_KEY from the environment.
NO_KEY = "EMPTY"
HIDDEN = "[hidden]"
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
MIN_SECRET_CHARS = 6  # shorter values would blank out ordinary words


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def truthy(text: str | None) -> bool:
    return (text or "").strip().lower() in {"1", "true", "yes", "on"}


def public_url(url: str) -> str:
    """An endpoint (or a comma-separated list) without user:password@, query or fragment."""
    parts = []
    for one in url.split(","):
        one = one.strip()
        if not one:
            continue
        try:
            split = urlsplit(one)
        except ValueError:
            parts.append("(an invalid URL)")
            continue
        host = split.netloc.rpartition("@")[2]
        parts.append(urlunsplit((split.scheme, host, split.path, "", "")))
    return ",".join(parts)


@dataclass(frozen=True)
class ServerModel:
    """The model endpoint the server's configuration names (empty: none)."""

    base_url: str = ""
    model_name: str = ""
    api_key: str = field(default="", repr=False)
    locked: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerModel:
        source = _env(env)
        return cls(base_url=source.get(ENV_BASE_URL, "").strip(),
                   model_name=source.get(ENV_MODEL, "").strip(),
                   api_key=source.get(ENV_API_KEY, "").strip(),
                   locked=truthy(source.get(ENV_LOCK_MODEL)))

    @property
    def display_url(self) -> str:
        return public_url(self.base_url)

    def owns(self, url: str) -> bool:
        """Is `url` (as a browser typed it) exactly the server's endpoint?"""
        typed = url.strip()
        return bool(self.base_url) and typed in {self.base_url, self.display_url}

    def endpoint(self, url: str) -> str:
        """The URL to call: the server's own (with any credentials in it) when it is that one."""
        return self.base_url if self.owns(url) else url.strip()

    def key_for(self, url: str, typed_key: str = "") -> str:
        """The key sent to `url`: the person's own, else the server's for the server's endpoint
        only, else NO_KEY (never None, so nothing falls back to the environment)."""
        if typed_key.strip():
            return typed_key.strip()
        if self.api_key and self.owns(url):
            return self.api_key
        return NO_KEY


# ---------------------------------------------------------------- keeping secrets out of text


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of the server's environment that must never be shown: the API key, the login
    password, any *KEY/*TOKEN/*SECRET/*PASSWORD variable, credentials inside the model URL."""
    source = _env(env)
    found = {v.strip() for k, v in source.items() if SECRET_NAME.search(k) and v.strip()}
    for name in (ENV_API_KEY, ENV_PASSWORD):
        if source.get(name, "").strip():
            found.add(source[name].strip())
    for url in source.get(ENV_BASE_URL, "").split(","):
        try:
            split = urlsplit(url.strip())
        except ValueError:
            continue
        userinfo = split.netloc.rpartition("@")[0]
        found.update(p for p in (userinfo, *userinfo.split(":", 1), split.query) if p)
        found.update(value for _, value in parse_qsl(split.query) if value)  # ?api-key=...
    return sorted((v for v in found if len(v) >= MIN_SECRET_CHARS), key=len, reverse=True)


def redact(text: str, env: Mapping[str, str] | None = None, *,
           secrets: list[str] | None = None) -> str:
    """`text` with every server secret replaced by [hidden] (for messages shown on the page)."""
    for secret in secret_values(env) if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, HIDDEN)
    return text


# ---------------------------------------------------------------- the shared password


def login_password(env: Mapping[str, str] | None = None) -> str:
    return _env(env).get(ENV_PASSWORD, "")


def password_matches(typed: str, expected: str) -> bool:
    """Constant-time comparison (of digests, so the length is not timed either)."""
    if not expected:
        return False
    digest = hashlib.sha256
    return hmac.compare_digest(digest(typed.encode()).digest(), digest(expected.encode()).digest())


class AttemptLimiter:
    """At most `per_client` failed logins per client and `overall` in all per `window_s`."""

    def __init__(self, per_client: int = 5, overall: int = 100, window_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_client, self.overall, self.window_s, self.clock = (
            per_client, overall, window_s, clock)
        self._failures: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AttemptLimiter:
        source = _env(env)
        per_client = source.get(ENV_LOGIN_ATTEMPTS, "")
        window = source.get(ENV_LOGIN_WINDOW_S, "")
        return cls(per_client=int(per_client) if per_client.isdigit() else 5,
                   window_s=float(window) if window.isdigit() else 300.0)

    def wait_s(self, client: str) -> float:
        """Seconds before `client` may try again (0: now)."""
        with self._lock:
            now = self.clock()
            mine = self._expire(self._failures.get(client, deque()), now)
            self._expire(self._all, now)
            waits = [0.0]
            if len(mine) >= self.per_client:
                waits.append(mine[0] + self.window_s - now)
            if len(self._all) >= self.overall:
                waits.append(self._all[0] + self.window_s - now)
            return max(waits)

    def failed(self, client: str) -> None:
        with self._lock:
            now = self.clock()
            self._failures.setdefault(client, deque()).append(now)
            self._all.append(now)
            if len(self._failures) > 10_000:  # forget clients whose failures have all expired
                for key in [k for k, v in self._failures.items() if not self._expire(v, now)]:
                    del self._failures[key]

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _expire(self, times: deque[float], now: float) -> deque[float]:
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times


LOGIN_LIMITER = AttemptLimiter.from_env()
