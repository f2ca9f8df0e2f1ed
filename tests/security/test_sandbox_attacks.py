"""Hostile code against the python sandbox (issue #12, classes 2, 4 and 5).

- The sandbox sees nothing of the host: no variable (a canary secret is set in the parent), no
  host path (repository, virtual environment, home, the layout folder) in the environment,
  sys.path, module files, descriptors, file names or the files it can read; no /proc, no
  bubblewrap process, no other tool's tables.
- Memory outside the limits is refused (/dev/shm, memfd, System V and POSIX IPC, a writable
  root or /dev, a nested mount namespace); a thread left running ends with its worker.
- The reply channel cannot be forged: whatever the code writes to any descriptor, nested or
  huge replies included, every later call returns its own correct result.

Runs the real sandbox; skipped only where bubblewrap cannot start on the machine.
"""

from __future__ import annotations

import getpass
import os
import secrets
import socket
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from table_io.model import Sheet, Table, Workbook
from tools.python import PythonTool
from tools.sandbox import SandboxLimits, protocol

AVAILABLE, REASON = PythonTool.check_available()
pytestmark = pytest.mark.skipif(not AVAILABLE, reason=f"sandbox cannot start here: {REASON}")

LIMITS = SandboxLimits(cpu_s=3, wall_s=30, memory_mb=1024, max_processes=16,
                       max_open_files=64, max_file_mb=8, scratch_mb=16)
CANARY = f"canary-{secrets.token_hex(8)}"
SECRET_CELL = f"only-in-tool-a-{secrets.token_hex(6)}"
REPO = str(Path(__file__).resolve().parents[2])


def workbook(frame: pd.DataFrame, name: str = "data") -> Workbook:
    return Workbook(source="t.xlsx", format="xlsx", sheets=[Sheet(name="S", table_names=[name])],
                    tables=[Table(name=name, sheet="S", range="A1", header_rows=[1],
                                  columns=list(frame.columns), frame=frame)])


@pytest.fixture(scope="module")
def tool():
    """A tool started while the parent holds secrets in its environment."""
    saved = {k: os.environ.get(k) for k in ("TABLEPILOT_API_KEY", "TABLEPILOT_SANDBOX_CANARY")}
    os.environ["TABLEPILOT_API_KEY"] = CANARY
    os.environ["TABLEPILOT_SANDBOX_CANARY"] = CANARY
    try:
        with PythonTool(workbook(pd.DataFrame({"x": [1, 2, 3], "secret": [SECRET_CELL] * 3})),
                        limits=LIMITS) as t:
            t.start()
            yield t
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(tool: PythonTool, code: str):
    return tool({"code": code})


def value_of(tool: PythonTool, code: str):
    result = run(tool, code)
    assert result.ok, result.observation
    return result.payload["value"]


def still_correct(tool: PythonTool) -> None:
    """Several later calls each get their own, correct result."""
    for n in (2, 7, 11):
        result = run(tool, f"int(data['x'].sum()) * {n}")
        assert result.ok, result.observation
        assert result.payload["value"] == 6 * n, result.observation


def needles(tool: PythonTool) -> dict[str, str]:
    assert tool._layout is not None
    found = {"repository": REPO, "environment": os.path.realpath(sys.prefix),
             "python prefix": os.path.realpath(sys.base_prefix), "home": str(Path.home()) + "/",
             "layout folder": str(tool._layout.root), "canary": CANARY}
    host = socket.gethostname()
    if len(host) >= 6:
        found["hostname"] = host
    return found


# --------------------------------------------------------------------------- class 2


SURVEY = r'''
import os, sys, json, stat, sysconfig
needles = NEEDLES
state = {
    "environ": dict(os.environ), "argv": sys.argv, "path": sys.path, "cwd": os.getcwd(),
    "interpreter": [sys.executable, sys.prefix, sys.base_prefix, sys.exec_prefix,
                    getattr(sys, "_base_executable", ""), sys.platlibdir],
    "modules": sorted(str(getattr(m, "__file__", "") or "") for m in list(sys.modules.values())),
    "code": [pd.DataFrame.__init__.__code__.co_filename, np.ones.__module__],
    "sysconfig": [sysconfig.get_paths(), sysconfig.get_config_vars()], "uname": list(os.uname()),
}
fds = {}
for fd in range(0, 1024):
    try:
        fds[fd] = stat.filemode(os.fstat(fd).st_mode)
    except OSError:
        pass
state["fds"] = fds
names, texts, skipped = [], {}, ("/usr", "/opt/sandbox/site", "/opt/sandbox/python")
for top, dirs, files in os.walk("/", onerror=lambda e: None):
    if top.startswith(skipped):
        dirs[:] = []
    names += [os.path.join(top, n) for n in dirs + files]
    for n in files:
        path = os.path.join(top, n)
        try:
            if os.path.isfile(path) and os.path.getsize(path) < (1 << 20):
                texts[path] = open(path, "rb").read().decode("latin-1")
        except OSError:
            pass
site = "/opt/sandbox/site"
for entry in os.listdir(site):
    names.append(entry)
    if entry.endswith((".dist-info", ".egg-info")):
        for n in os.listdir(os.path.join(site, entry)):
            path = os.path.join(site, entry, n)
            if os.path.isfile(path) and os.path.getsize(path) < (1 << 20):
                texts[path] = open(path, "rb").read().decode("latin-1")
state["names"] = names
state["texts"] = texts
blob = json.dumps(state, default=str)
hits = sorted({(what, where) for what, needle in needles.items()
               for where, part in state.items() if needle in json.dumps(part, default=str)})
(hits, len(names), len(texts), sorted(state["environ"]), fds, os.path.exists("/proc"), os.path.exists("/sys"))
'''


def test_nothing_of_the_host_is_visible_anywhere(tool):
    marks = needles(tool)
    code = SURVEY.replace("NEEDLES", repr(marks))
    hits, n_names, n_texts, env_names, fds, has_proc, has_sys = value_of(tool, code)
    assert hits == [], f"host information visible in the sandbox: {hits}"
    assert n_names > 50 and n_texts > 20  # the survey really walked the sandbox
    assert not has_proc and not has_sys
    assert set(env_names) <= {"PATH", "HOME", "PWD", "TMPDIR", "LANG", "MPLBACKEND", "MPLCONFIGDIR",
                              "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}
    # descriptors: /dev/null on 0-2, the control socket and this call's reply pipe; nothing of
    # the launcher (no memfd of arguments, no seccomp program, no host file or folder)
    kinds = sorted(v[0] for v in fds.values())
    assert kinds == ["c", "c", "c", "p", "s"], fds


@pytest.mark.parametrize("path", ["/proc/1/environ", "/proc/self/environ", "/proc/1/cmdline",
                                  "/proc/self/mountinfo", "/proc/self/maps", "/proc/self/cwd",
                                  "/proc/thread-self/mounts", "/sys/fs/cgroup", "/etc/passwd",
                                  "/root", "/work", "/home"])
def test_host_views_do_not_exist(tool, path):
    assert value_of(tool, f"import os\nos.path.lexists({path!r})") is False


def test_no_other_process_is_visible(tool):
    code = ("import os\nalive = []\nfor pid in range(2, 4096):\n    try:\n        os.kill(pid, 0)\n"
            "        alive.append(pid)\n    except ProcessLookupError:\n        pass\n"
            "(os.getpid(), alive)")
    pid, alive = value_of(tool, code)
    assert pid == 1  # the worker is the namespace's init: no bubblewrap process to read
    assert alive == [] or all(p < 64 for p in alive)  # at most this process's own threads


@pytest.mark.parametrize("call", [
    "libc.mount(b'proc', b'/scratch/p', b'proc', 0, None)",
    "libc.unshare(0x10000000 | 0x00020000)",  # CLONE_NEWUSER | CLONE_NEWNS
    "libc.syscall(272 if platform.machine() == 'x86_64' else 97, 0x10000000)",
    "libc.chroot(b'/scratch')",
])
def test_cannot_mount_a_proc_or_leave_the_namespaces(tool, call):
    code = ("import ctypes, os, platform\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "os.makedirs('/scratch/p', exist_ok=True)\n"
            f"rc = {call}\n(rc, ctypes.get_errno(), os.path.exists('/scratch/p/self'))")
    rc, err, mounted = value_of(tool, code)
    assert rc == -1 and err != 0 and not mounted


def test_another_tools_tables_are_out_of_reach(tool):
    other = PythonTool(workbook(pd.DataFrame({"y": [1]}), name="other"), limits=LIMITS)
    try:
        code = (f"import os\nneedle = {SECRET_CELL!r}.encode()\nfound = []\n"
                "for top in ('/tables', '/scratch', '/tmp', '/dev', '/opt/sandbox/worker'):\n"
                "    for d, _, files in os.walk(top):\n"
                "        for n in files:\n"
                "            p = os.path.join(d, n)\n"
                "            try:\n"
                "                if os.path.isfile(p) and needle in open(p, 'rb').read():\n"
                "                    found.append(p)\n"
                "            except OSError:\n"
                "                pass\n"
                "(found, sorted(tables), os.listdir('/tables'))")
        found, names, listing = value_of(other, code)
        assert found == [] and names == ["other"] and len(listing) == 1
        assert tool._layout is not None
        guess = value_of(other, f"import os\nos.path.exists({str(tool._layout.tables)!r})")
        assert guess is False
    finally:
        other.close()


# --------------------------------------------------------------------------- class 4


@pytest.mark.parametrize("code", [
    "open('/dev/shm/fill', 'wb').write(b'x' * 4096)",
    "from multiprocessing import shared_memory\nshared_memory.SharedMemory(create=True, size=1 << 20)",
    "import os\nos.memfd_create('fill')",
    "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    "fd = libc.syscall(319 if __import__('platform').machine() == 'x86_64' else 279, b'x', 0)\n"
    "assert fd >= 0, ctypes.get_errno()",
    "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    "shm = libc.shmget(0, 64 << 20, 0o1600)\nassert shm >= 0, ctypes.get_errno()",
    "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    "q = libc.msgget(0, 0o1600)\nassert q >= 0, ctypes.get_errno()",
    "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    "q = libc.mq_open(b'/fill', 0o100 | 2, 0o600, None)\nassert q >= 0, ctypes.get_errno()",
    "open('/fill', 'wb').write(b'x' * 4096)",
    "open('/dev/fill', 'wb').write(b'x' * 4096)",
    "open('/opt/sandbox/fill', 'wb').write(b'x' * 4096)",
    "open('/tables/fill', 'wb').write(b'x' * 4096)",
    # tmpfs keeps extended attributes in kernel memory that its size= does not count
    "import os\nopen('/scratch/x', 'w').close()\nos.setxattr('/scratch/x', 'user.a', b'x' * 60000)",
    "import os\nfd = os.open('/tmp/y', os.O_CREAT | os.O_WRONLY)\nos.setxattr(fd, 'user.a', b'x' * 60000)",
    # inotify instances count against a per-user quota every sandbox shares
    "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    "fd = libc.inotify_init1(0)\nassert fd >= 0, ctypes.get_errno()",
])
def test_memory_outside_the_limits_is_refused(tool, code):
    result = run(tool, code)
    assert result.error is not None, result.observation
    still_correct(tool)


def test_scratch_is_bounded(tool):
    result = run(tool, "with open('/scratch/fill', 'wb') as f:\n"
                       "    for _ in range(64):\n        f.write(b'x' * (1 << 20))")
    assert result.error is not None and result.error.kind == "limit", result.observation
    assert value_of(tool, "import os\nos.remove('/scratch/fill')\n1") == 1


BURN = "def burn(*_):\n    while True:\n        pass\n"
THREADS = {
    "threading": BURN + "import threading\nthreading.Thread(target=burn, daemon=True).start()",
    "_thread": BURN + "import _thread\n_thread.start_new_thread(burn, ())",
    "executor": BURN + "from concurrent.futures import ThreadPoolExecutor\n"
                       "pool = ThreadPoolExecutor(2)\npool.submit(burn)",
    "ctypes pthread": BURN + "import ctypes\nlibc = ctypes.CDLL(None)\n"
                             "CB = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)\n"
                             "callback = CB(burn)\ntid = ctypes.c_ulong()\n"
                             "libc.pthread_create(ctypes.byref(tid), None, callback, None)",
    "forger": "import threading, os, time, struct, json\n"
              "def forge():\n"
              "    fake = json.dumps({'ok': True, 'value': 999, 'value_repr': '999', 'blobs': []}).encode()\n"
              "    frame = struct.pack('>I', len(fake)) + fake\n"
              "    while True:\n"
              "        for fd in range(3, 64):\n"
              "            try: os.write(fd, frame)\n"
              "            except OSError: pass\n"
              "        time.sleep(0.001)\n"
              "threading.Thread(target=forge, daemon=True).start()",
}


@pytest.mark.parametrize("kind", list(THREADS))
def test_a_thread_left_running_ends_with_its_worker(tool, kind):
    tool.start()
    assert tool._worker is not None
    old = tool._worker.proc
    result = run(tool, THREADS[kind])
    if result.ok and kind != "ctypes pthread":  # a raw thread may only be caught by its CPU use
        assert "thread(s) running" in result.observation, result.observation
    deadline = time.monotonic() + 20
    while old.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert old.poll() is not None, "the worker with a stray thread is still running"
    follow = run(tool, "int(data['x'].sum())")
    assert follow.ok and follow.payload["value"] == 6 and "restarted" in follow.observation
    still_correct(tool)


NATIVE_SPIN = ("import ctypes, mmap\n"
               "page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
               "page.write(b'\\xeb\\xfe')  # jmp $: spins in machine code, no Python frame\n"
               "address = ctypes.addressof(ctypes.c_char.from_buffer(page))\n"
               "tid = ctypes.c_ulong()\n"
               "ctypes.CDLL(None).pthread_create(ctypes.byref(tid), None, ctypes.c_void_p(address), None)\n"
               "'started'")


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the spin loop is x86-64 machine code")
def test_a_native_thread_burning_cpu_between_calls_ends_its_worker(tool):
    tool.start()
    assert tool._worker is not None
    old = tool._worker.proc
    result = run(tool, NATIVE_SPIN)
    assert result.ok and result.payload["value"] == "started", result.observation
    deadline = time.monotonic() + 20  # idle_cpu_s (2 s) of CPU, on a busy machine
    while old.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert old.poll() is not None, "a thread kept burning CPU after its call returned"
    follow = run(tool, "int(data['x'].sum())")
    assert follow.ok and follow.payload["value"] == 6 and "restarted" in follow.observation
    still_correct(tool)


def test_native_library_threads_keep_the_worker(tool):
    """pyarrow's own pools are not the code's threads: variables survive."""
    tool.start()
    assert tool._worker is not None
    proc = tool._worker.proc
    code = ("import pyarrow.dataset as ds, pyarrow.compute as pc\n"
            "data.to_parquet('/scratch/d.parquet')\n"
            "table = ds.dataset('/scratch/d.parquet').to_table()\n"
            "n = pc.sum(table['x']).as_py()\n"
            "rows = pd.read_csv(__import__('io').StringIO('a\\n1\\n2'), engine='pyarrow').shape[0]\n"
            "kept = (n, table.num_rows, rows)\nkept")
    assert value_of(tool, code) == [6, 3, 2]
    assert value_of(tool, "kept") == [6, 3, 2]
    assert tool._worker is not None and tool._worker.proc is proc


def test_threads_that_finish_keep_the_worker(tool):
    tool.start()
    assert tool._worker is not None
    proc = tool._worker.proc
    code = ("import threading\nfrom concurrent.futures import ThreadPoolExecutor\n"
            "t = threading.Thread(target=sum, args=([1, 2],))\nt.start()\nt.join()\n"
            "with ThreadPoolExecutor(4) as pool:\n    total = sum(pool.map(abs, range(-10, 0)))\n"
            "total")
    assert value_of(tool, code) == 55
    assert value_of(tool, "kept = 5\nkept") == 5
    assert value_of(tool, "kept + 1") == 6
    assert tool._worker is not None and tool._worker.proc is proc


# --------------------------------------------------------------------------- class 5


def _frame(header: str) -> str:
    return f"struct.pack('>I', len({header})) + {header}"


FORGERIES = {
    "well-formed reply on every descriptor":
        "fake = json.dumps({'ok': True, 'value': 999, 'value_repr': '999', 'blobs': []}).encode()\n"
        f"data = {_frame('fake')}",
    "two replies in a row":
        "fake = json.dumps({'ok': True, 'value': 999, 'blobs': []}).encode()\n"
        f"data = ({_frame('fake')}) * 2",
    "reply nested 100000 deep":
        "fake = b'{\"blobs\": [], \"value\": ' + b'[' * 100000 + b']' * 100000 + b'}'\n"
        f"data = {_frame('fake')}",
    "header claiming 4 GiB":
        "data = b'\\xff\\xff\\xff\\xff' + b'{}'",
    "blob claiming a terabyte":
        "fake = json.dumps({'ok': True, 'blobs': [1 << 40]}).encode()\n"
        f"data = {_frame('fake')}",
    "half a reply":
        "fake = json.dumps({'ok': True, 'value': 1, 'blobs': [100]}).encode()\n"
        f"data = {_frame('fake')} + b'x' * 10",
}


@pytest.mark.parametrize("name", list(FORGERIES))
def test_forged_replies_never_shift_later_results(tool, name):
    code = ("import os, json, struct\n" + FORGERIES[name] + "\n"
            "for fd in range(0, 64):\n"
            "    try: os.write(fd, data)\n"
            "    except OSError: pass\n"
            "'real result'")
    result = run(tool, code)
    assert result.payload["value"] != 999
    if result.error is not None:
        assert result.error.kind == "limit"
        assert "restart" in result.error.message
    still_correct(tool)


def test_a_reply_forged_with_the_request_id_only_fools_its_own_call(tool):
    """Code that reads the request from the worker's memory can lie about its own result,
    but the next calls still get theirs."""
    code = ("import sys, os, json, struct\n"
            "frame = sys._getframe()\n"
            "while frame and not ('msg' in frame.f_locals and 'reply_fd' in frame.f_locals):\n"
            "    frame = frame.f_back\n"
            "msg, fd = frame.f_locals['msg'], frame.f_locals['reply_fd']\n"
            "fake = json.dumps({'ok': True, 'id': msg['id'], 'value': 999, 'blobs': []}).encode()\n"
            "os.write(fd, struct.pack('>I', len(fake)) + fake)\n"
            "os.dup2(os.open(os.devnull, os.O_WRONLY), fd)\n"
            "'real'")
    run(tool, code)  # whatever it claims for itself
    still_correct(tool)


def test_replies_that_break_the_serialiser_are_errors_not_crashes(tool):
    result = run(tool, "x = []\nfor _ in range(100000):\n    x = [x]\nx")
    assert result.payload["value"] is None
    assert result.payload["value_repr"], result.observation
    huge = run(tool, "print('y' * 50_000_000)\n'z' * 50_000_000")
    assert huge.ok, huge.observation
    assert len(huge.observation) < 20_000
    still_correct(tool)


def test_closing_or_stealing_the_channels_restarts_cleanly(tool):
    for code in ("import os\nfor fd in range(0, 64):\n    try: os.close(fd)\n    except OSError: pass",
                 "import os, socket\ns = socket.socket(fileno=os.dup(3))\ns.recv(10, socket.MSG_DONTWAIT)",
                 "import os\nos._exit(3)"):
        run(tool, code)
        still_correct(tool)


@pytest.mark.parametrize("code", [
    "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n'alive'",
    "import os, signal\nos.kill(1, signal.SIGSTOP)\n'alive'",
    "import os, signal\nos.kill(-1, signal.SIGTERM)\n'alive'",
    "import signal, time\nsignal.alarm(1)\ntime.sleep(1.5)\n'alive'",
    "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\n'alive'",
    "import os, signal\nos.kill(os.getpid(), signal.SIGXCPU)\n'alive'",
])
def test_signal_tricks_leave_later_calls_correct(tool, code):
    run(tool, code)
    still_correct(tool)


def test_protocol_rejects_deep_and_malformed_headers():
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_header(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_header(b'{"blobs": [true]}')
    with pytest.raises(protocol.ProtocolError):
        protocol.header_length(b"\xff\xff\xff\xff")
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_header(b"\x00\xff not json")
    ok = protocol.decode_header(b'{"blobs": [], "v": "[[[[\\"[["}')
    assert ok["v"] == '[[[["[['
    assert getpass.getuser()  # the suite's needles are computed on a real account


BOMB_CHILD = r'''
import io, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
import pyarrow as pa, pyarrow.parquet as pq
from tools.python import BlobRefused, read_bounded_parquet
cases = {
    "dictionary text": pa.table({"s": pa.DictionaryArray.from_arrays(
        pa.array([0] * 100_000, pa.int32()), pa.array(["x" * 10_000_000]))}),
    "too many rows": pa.table({"n": pa.array([0] * 200_000, pa.int8())}),
    "nested": pa.table({"l": pa.array([[1, 2]] * 10)}),
    "too many columns": pa.table({f"c{i}": pa.array([0], pa.int8()) for i in range(12_000)}),
}
for name, table in cases.items():
    buf = io.BytesIO()
    pq.write_table(table, buf)
    try:
        read_bounded_parquet(buf.getvalue(), max_rows=100_000, max_bytes=512 << 20)
    except BlobRefused:
        print("refused", name)
'''


def test_a_forged_parquet_blob_cannot_blow_up_the_host():
    """A frame blob is parsed in the host: a dictionary bomb (470 KB standing for 1 TB of text),
    too many rows or columns, and nested columns are refused before decoding (run in a child
    process with a 3 GiB address-space limit, so a failure cannot take the suite down)."""
    import subprocess

    proc = subprocess.run([sys.executable, "-c", BOMB_CHILD], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(proc.stdout.split("\n")[:-1]) == sorted(
        f"refused {n}" for n in ("dictionary text", "too many rows", "nested", "too many columns"))
