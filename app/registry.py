"""The app's per-page states kept on the server by a random token, so that a page reload (a new
Streamlit session) finds its workbook, chat and versions again."""

from __future__ import annotations

import hmac
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.state import AppState

TOKEN_PARAM = "s"
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
ENV_IDLE = "TABLEPILOT_APP_IDLE_S"
ENV_MAX_SESSIONS = "TABLEPILOT_APP_MAX_SESSIONS"
DEFAULT_IDLE_S = 4 * 3600.0
DEFAULT_MAX_SESSIONS = 64


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "").strip())
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass
class _Held:
    state: AppState
    user: str
    used: float


class StateRegistry:
    """The pages' AppStates by a random token, so that a reload of the page (which starts a
    new Streamlit session) finds its workbook, chat and versions again.

    A token is 128 random bits (``secrets.token_urlsafe(16)``) and belongs to the user who made
    it: ``get`` with another user's name finds nothing. A state unused for ``idle_s`` is
    dropped, and at most ``max_states`` are kept (the least recently used goes first); a
    dropped state's work folder goes once no page holds it any more.
    """

    def __init__(self, *, max_states: int | None = None, idle_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_states = max_states or int(_env_number(ENV_MAX_SESSIONS, DEFAULT_MAX_SESSIONS))
        self.idle_s = idle_s or _env_number(ENV_IDLE, DEFAULT_IDLE_S)
        self.clock = clock
        self._held: OrderedDict[str, _Held] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._held)

    def add(self, state: AppState, user: str) -> str:
        """Keep ``state`` for ``user``; its new token (also set as ``state.token``)."""
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._expire()
            while len(self._held) >= self.max_states:
                self._held.popitem(last=False)
            self._held[token] = _Held(state, user, self.clock())
        state.token = token
        return token

    def get(self, token: str | None, user: str) -> AppState | None:
        """The state kept under ``token`` for ``user``, or None (unknown, expired, malformed
        or another user's token)."""
        if not token or not TOKEN_SHAPE.fullmatch(token):
            return None
        with self._lock:
            self._expire()
            held = self._held.get(token)
            if held is None or not hmac.compare_digest(held.user.encode(), user.encode()):
                return None
            held.used = self.clock()
            self._held.move_to_end(token)
            return held.state

    def drop(self, token: str) -> None:
        with self._lock:
            self._held.pop(token, None)

    def _expire(self) -> None:
        oldest = self.clock() - self.idle_s
        for token in [t for t, held in self._held.items() if held.used < oldest]:
            del self._held[token]


REGISTRY = StateRegistry()
