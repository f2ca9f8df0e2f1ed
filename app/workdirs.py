"""Each browser session's private work folder, and the removal of folders left by dead sessions.

All session folders live under one root (TABLEPILOT_APP_WORK_ROOT, default
<tmp>/tablepilot-app-<uid>), made 0700 and owned by this user; each session folder has a random
name (mkdtemp) and a `.alive` file whose time a live session keeps fresh. A session that ends
normally removes its folder; one whose process was killed leaves it behind, and the sweep removes
it once its `.alive` time is older than TTL (TABLEPILOT_APP_SESSION_TTL_S, default 24 h). The
sweep runs when the app starts and then every TTL/4 (at most hourly) in a background thread,
and never touches a folder that a session of this process still holds.
No Streamlit here.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

ENV_ROOT = "TABLEPILOT_APP_WORK_ROOT"
ENV_TTL = "TABLEPILOT_APP_SESSION_TTL_S"
DEFAULT_TTL_S = 24 * 3600
PREFIX = "session-"
ALIVE = ".alive"

_live: set[str] = set()
_live_lock = threading.Lock()
_janitor: threading.Thread | None = None
_janitor_lock = threading.Lock()
_roots: list[Path] = []


def session_ttl_s() -> float:
    raw = os.environ.get(ENV_TTL, "").strip()
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_TTL_S
    return value if value > 0 else DEFAULT_TTL_S


def work_root() -> Path:
    """The folder holding every session's folder: private to this user, never a link."""
    configured = os.environ.get(ENV_ROOT, "").strip()
    uid = os.getuid() if hasattr(os, "getuid") else 0
    root = Path(configured) if configured else Path(tempfile.gettempdir()) / f"tablepilot-app-{uid}"
    try:
        root.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass
    info = root.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode) or (
            hasattr(os, "getuid") and info.st_uid != uid):
        raise RuntimeError(f"{root}: the app's work folder must be a folder owned by this user "
                           f"(set {ENV_ROOT} to another place)")
    if stat.S_IMODE(info.st_mode) & 0o077:
        root.chmod(0o700)  # other users of the machine see nothing of anyone's uploads
    return root


def new_session_folder(root: Path | None = None) -> Path:
    """A fresh private folder (random name, 0700) for one browser session, marked live."""
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=root or work_root()))
    (folder / ALIVE).touch()
    with _live_lock:
        _live.add(str(folder))
    return folder


def heartbeat(folder: Path) -> None:
    """Mark a session folder as in use now."""
    try:
        os.utime(folder / ALIVE)
    except FileNotFoundError:
        if folder.is_dir():
            (folder / ALIVE).touch()


def release(folder: str) -> None:
    """The session ended: forget it and remove its folder."""
    with _live_lock:
        _live.discard(folder)
    shutil.rmtree(folder, ignore_errors=True)


def last_used(folder: Path) -> float:
    try:
        return (folder / ALIVE).stat().st_mtime
    except FileNotFoundError:
        return folder.stat().st_mtime


def sweep(root: Path | None = None, *, ttl_s: float | None = None,
          now: float | None = None) -> list[Path]:
    """Remove session folders unused for longer than ttl_s; keep this process's live ones
    (their time is refreshed first). Returns what was removed."""
    root = root or work_root()
    ttl_s = session_ttl_s() if ttl_s is None else ttl_s
    with _live_lock:
        live = set(_live)
    for held in live:
        heartbeat(Path(held))
    cutoff = (time.time() if now is None else now) - ttl_s
    removed = []
    for folder in root.iterdir():
        if not folder.name.startswith(PREFIX) or str(folder) in live or folder.is_symlink():
            continue
        try:
            stale = folder.is_dir() and last_used(folder) < cutoff
        except FileNotFoundError:
            continue
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


LEGACY = re.compile(r"tablepilot-app-(?!\d+$)\w+")  # mkdtemp folders of earlier versions


def sweep_legacy(tmp: Path | None = None, *, ttl_s: float | None = None,
                 now: float | None = None) -> list[Path]:
    """Remove the per-session folders earlier versions made straight in the temp folder
    (tablepilot-app- and eight random characters), ours only, once nothing in them changed for longer than ttl_s."""
    tmp = tmp or Path(tempfile.gettempdir())
    ttl_s = session_ttl_s() if ttl_s is None else ttl_s
    cutoff = (time.time() if now is None else now) - ttl_s
    uid = os.getuid() if hasattr(os, "getuid") else None
    removed = []
    for folder in tmp.iterdir():
        try:
            info = folder.lstat()
            if (not LEGACY.fullmatch(folder.name) or not stat.S_ISDIR(info.st_mode)
                    or (uid is not None and info.st_uid != uid)):
                continue
            if newest_change(folder) < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        except OSError:
            continue
    return removed


def newest_change(folder: Path) -> float:
    newest = folder.lstat().st_mtime
    for path, dirs, files in os.walk(folder):
        for name in dirs + files:
            try:
                newest = max(newest, os.lstat(os.path.join(path, name)).st_mtime)
            except OSError:
                continue
    return newest


def start_janitor() -> None:
    """Sweep the work root now (once per root and process), then every TTL/4 (at most hourly)
    in one daemon thread."""
    global _janitor
    root = work_root()
    with _janitor_lock:
        if root in _roots:
            return
        sweep(root)
        if not _roots:
            sweep_legacy()
        _roots.append(root)
        if _janitor is None or not _janitor.is_alive():
            _janitor = threading.Thread(target=_sweep_forever, name="tablepilot-app-janitor",
                                        daemon=True)
            _janitor.start()


def _sweep_forever() -> None:
    while True:
        time.sleep(min(session_ttl_s() / 4, 3600.0))
        with _janitor_lock:
            roots = list(_roots)
        for root in roots:
            try:
                sweep(root)
            except OSError:
                pass  # the next round tries again
