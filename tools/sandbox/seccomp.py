"""A seccomp filter that forbids new processes and memory outside the limits (threads stay allowed).

With no second process, a fork bomb is a no-op and the memory bound is one RLIMIT_AS, not
``max_processes`` times it. The filter is a classic BPF program handed to bubblewrap
(``--seccomp FD``), which installs it right before starting the worker:

- a system call from another architecture (i386 or x32 on x86-64): EPERM;
- ``clone`` without ``CLONE_THREAD`` (fork, vfork, posix_spawn), ``fork``, ``vfork``: EPERM;
- ``clone3``: ENOSYS (its flags sit behind a pointer a filter cannot read; glibc then falls
  back to ``clone``, which is checked);
- memory that RLIMIT_AS does not count and that outlives a call (``memfd_create``,
  ``memfd_secret``, System V shared memory, semaphores and message queues, POSIX message
  queues, kernel keys), new namespaces and mounts (``unshare``, ``setns``, ``mount``, the new
  mount API: an unlimited tmpfs in a nested namespace), extended attributes (tmpfs keeps them
  in kernel memory outside its ``size=``), inotify and fanotify instances (a per-user quota that
  every sandbox shares), and kernel interfaces the code has no use for (``ptrace``,
  ``process_vm_*``, ``io_uring``, ``userfaultfd``, ``bpf``, ``perf_event_open``): EPERM;
- everything else: allowed.

Only x86-64 and aarch64 are known; elsewhere ``build()`` returns None and the sandbox relies on
RLIMIT_NPROC alone.
"""

from __future__ import annotations

import errno
import os
import platform
import struct

_LD_W_ABS = 0x20
_JEQ = 0x15
_JGE = 0x35
_JSET = 0x45
_RET = 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
_CLONE_THREAD = 0x00010000
_OFFSET_NR, _OFFSET_ARCH, _OFFSET_ARG0 = 0, 4, 16

# Numbers shared by both architectures (the unified table from 5.1 on): io_uring_setup,
# io_uring_enter, io_uring_register, open_tree, move_mount, fsopen, fsconfig, fsmount, fspick,
# mount_setattr, memfd_secret, setxattrat.
_COMMON_DENIED = (425, 426, 427, 428, 429, 430, 431, 432, 433, 442, 447, 463)
# machine -> (AUDIT_ARCH value, clone, clone3, refused calls)
_ARCHES = {
    "x86_64": (0xC000003E, 56, 435, (
        57, 58,  # fork, vfork
        319,  # memfd_create
        29, 30, 31, 67, 64, 65, 66, 220, 68, 69, 70, 71,  # shm*, sem*, msg*
        240, 241, 242, 243, 244, 245,  # mq_*
        248, 249, 250,  # add_key, request_key, keyctl
        272, 308, 165, 166, 155, 161,  # unshare, setns, mount, umount2, pivot_root, chroot
        101, 310, 311, 323, 321, 298,  # ptrace, process_vm_readv/writev, userfaultfd, bpf, perf
        188, 189, 190,  # setxattr, lsetxattr, fsetxattr: tmpfs xattrs are not counted by size=
        253, 294, 300,  # inotify_init, inotify_init1, fanotify_init: per-user kernel quotas
        *_COMMON_DENIED)),
    "aarch64": (0xC00000B7, 220, 435, (
        279,  # memfd_create
        194, 195, 196, 197, 190, 191, 192, 193, 186, 187, 188, 189,  # shm*, sem*, msg*
        180, 181, 182, 183, 184, 185,  # mq_*
        217, 218, 219,  # add_key, request_key, keyctl
        97, 268, 40, 39, 41, 51,  # unshare, setns, mount, umount2, pivot_root, chroot
        117, 270, 271, 282, 280, 241,  # ptrace, process_vm_readv/writev, userfaultfd, bpf, perf
        5, 6, 7,  # setxattr, lsetxattr, fsetxattr
        26, 262,  # inotify_init1, fanotify_init
        *_COMMON_DENIED)),
}


def build(machine: str | None = None) -> bytes | None:
    """The BPF program as bytes (``struct sock_filter[]``), or None on an unknown machine."""
    arch = _ARCHES.get(machine or platform.machine())
    if arch is None:
        return None
    audit_arch, clone, clone3, denied = arch
    deny, nosys = _ERRNO | errno.EPERM, _ERRNO | errno.ENOSYS
    # (code, jump-if-true label, jump-if-false label, k); labels are resolved below
    program: list[tuple[int, str | None, str | None, int]] = [
        (_LD_W_ABS, None, None, _OFFSET_ARCH),
        (_JEQ, "native", "deny", audit_arch),
        ("native", None, None, 0),  # type: ignore[list-item]
        (_LD_W_ABS, None, None, _OFFSET_NR),
        (_JGE, "deny", "next", 0x40000000),  # the x32 ABI
        (_JEQ, "nosys", "next", clone3),
    ]
    for number in dict.fromkeys(denied):
        program.append((_JEQ, "deny", "next", number))
    program += [
        (_JEQ, "clone", "allow", clone),
        ("clone", None, None, 0),  # type: ignore[list-item]
        (_LD_W_ABS, None, None, _OFFSET_ARG0),
        (_JSET, "allow", "deny", _CLONE_THREAD),
        ("allow", None, None, 0),  # type: ignore[list-item]
        (_RET, None, None, _ALLOW),
        ("deny", None, None, 0),  # type: ignore[list-item]
        (_RET, None, None, deny),
        ("nosys", None, None, 0),  # type: ignore[list-item]
        (_RET, None, None, nosys),
    ]
    labels: dict[str, int] = {}
    instructions: list[tuple[int, str | None, str | None, int]] = []
    for item in program:
        if isinstance(item[0], str):
            labels[item[0]] = len(instructions)
        else:
            instructions.append(item)
    out = bytearray()
    for index, (code, true, false, k) in enumerate(instructions):
        def offset(label: str | None, here: int = index) -> int:
            if label is None or label == "next":
                return 0
            jump = labels[label] - here - 1
            if not 0 <= jump <= 255:
                raise ValueError(f"jump to {label} out of range")
            return jump
        out += struct.pack("HBBI", code, offset(true), offset(false), k)
    return bytes(out)


def filter_fd(program: bytes) -> int:
    """A file descriptor holding the program, for ``bwrap --seccomp FD`` (caller closes it)."""
    fd = os.memfd_create("tablepilot-seccomp", 0)
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
