"""How Insighter Lab starts, owns its data dir and stops: one process tree.

Everything Insighter runs hangs under the server process `npm start` runs
(this one): the sidecar (and, under it, scoring workers and training jobs)
and the kernels. Each of them ends when its parent ends, even when the
parent had no chance to clean up (SIGKILL, OOM): on Linux through a
parent-death signal set between fork and exec (`die_with_parent`); the
sidecar also watches its parent from a thread of its own, for a busy main
thread. The server itself ends, in order, when the process that started it
(`npm start`) is gone (`exit_with_parent`).

A stop is orderly and bounded (`OrderlyStop`): SIGTERM, SIGINT or SIGHUP
stops the sidecar and the kernels side by side, then the server; whatever is
left after `HARD_STOP_AFTER` seconds is killed. A second signal kills
everything at once.

A start finds the state the last run left (`claim_data_dir`): the data dir
is held with a kernel lock (flock), which its owner loses by dying whatever
way it dies, so a lock is never stale; a live owner is named with its URL
and pid. A sidecar a dead server left behind (one from before this
mechanism, or one still ending) is stopped; ports in use are named with the
variable that moves them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Awaitable, Callable, Iterable, List, Optional

from jupyter_client.ioloop import AsyncIOLoopKernelManager
from traitlets import default

from .config import InsighterSettings

#: A first signal stops everything in order; this long after it, whatever is left is killed.
HARD_STOP_AFTER = 8.5
#: Signals closer together than this are one stop (npm forwards the SIGINT a terminal
#: already sent to the whole group; a closed terminal sends SIGHUP, and SIGTERM follows).
SAME_STOP_WINDOW = 1.0
#: How long a kernel gets to answer a shutdown request before it is killed.
KERNEL_SHUTDOWN_WAIT = 3.0
#: How long a sidecar left behind by a dead server gets to end after SIGTERM.
ORPHAN_STOP_TIMEOUT = 5.0

LOCK_FILE = "lab.lock"
OWNER_FILE = "lab.json"

_PR_SET_PDEATHSIG = 1
_prctl = None
try:
    _prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: the sidecar watches its parent itself
    pass

log = logging.getLogger("insighter_lab")


# --- parent death ---------------------------------------------------------


def die_with_parent(sig: int) -> Callable[[], None]:
    """A `preexec_fn`: the child gets `sig` when the process starting it dies.

    Runs between fork and exec, so it must not take locks. The parent may have
    died between the fork and the prctl: then the signal would never come, so
    the child sends it to itself."""
    parent = os.getpid()

    def preexec() -> None:
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return preexec


def exit_with_parent() -> None:
    """SIGTERM to this process when the one that started it (`npm start`, a
    shell) dies: the server then stops in order, and takes its tree along.
    Nothing happens when started by init (a container's first process)."""
    parent = os.getppid()
    if _prctl is None or parent <= 1:
        return
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


class ParentBoundKernelManager(AsyncIOLoopKernelManager):
    """Jupyter's kernel manager, whose kernels are killed when the server
    dies. Kernels start in their own session (for interrupts), so no terminal
    signal reaches them, and ipykernel's own parent poll only notices a
    parent replaced by init (pid 1), not by a subreaper."""

    @default("shutdown_wait_time")
    def _default_shutdown_wait_time(self) -> float:
        # A busy kernel is killed after this: a stop must end within seconds.
        return KERNEL_SHUTDOWN_WAIT

    async def _launch_kernel(self, kernel_cmd: List[str], **kw) -> None:
        # The signal comes when the forking *thread* ends: only fork from the main one.
        if threading.current_thread() is threading.main_thread() and "preexec_fn" not in kw:
            kw["preexec_fn"] = die_with_parent(signal.SIGKILL)
        return await super()._launch_kernel(kernel_cmd, **kw)


def bind_kernels_to_server(kernel_manager) -> bool:
    """Starts kernels with `ParentBoundKernelManager` unless another kernel
    manager class was configured on purpose. Whether it did."""
    default_class = "jupyter_client.ioloop.AsyncIOLoopKernelManager"
    if getattr(kernel_manager, "kernel_manager_class", None) != default_class:
        return False
    kernel_manager.kernel_manager_class = f"{__name__}.ParentBoundKernelManager"
    return True


# --- the data dir's owner -----------------------------------------------------


class AlreadyRunning(RuntimeError):
    """Another live Insighter Lab holds the data dir."""


class DataDirClaim:
    """This process's hold on the data dir: `run/lab.lock` flocked for as long
    as the process lives (the kernel lets go when it dies, however it dies),
    and `run/lab.json` saying who holds it, for the message a second start
    prints."""

    def __init__(self, run_dir: Path, fd: int):
        self.run_dir = run_dir
        self._fd = fd
        self.owner_file = run_dir / OWNER_FILE

    def describe(self, url: Optional[str]) -> None:
        """Records the pid and (once listening) the URL; the token stays out."""
        record = {"pid": os.getpid(), "url": url}
        tmp = self.owner_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record) + "\n", encoding="utf-8")
        tmp.replace(self.owner_file)

    def release(self) -> None:
        try:
            self.owner_file.unlink()
        except FileNotFoundError:
            pass
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


_claim: Optional[DataDirClaim] = None


def current_claim() -> Optional[DataDirClaim]:
    return _claim


def claim_data_dir(settings: InsighterSettings) -> DataDirClaim:
    """Takes the data dir for this process, or raises `AlreadyRunning` naming
    the live owner. A lock left by a dead owner is no lock at all (flock)."""
    global _claim
    import fcntl

    run_dir = settings.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        if error.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
            raise
        raise AlreadyRunning(_owner_message(settings, run_dir / OWNER_FILE)) from None
    _claim = DataDirClaim(run_dir, fd)
    _claim.describe(None)
    return _claim


def _owner_message(settings: InsighterSettings, owner_file: Path) -> str:
    try:
        owner = json.loads(owner_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        owner = {}
    pid = owner.get("pid")
    url = owner.get("url")
    where = f" at {url}" if url else " (still starting)"
    who = f", pid {pid}" if pid else ""
    return (
        f"Insighter is already running on this data dir{where}{who} ({settings.data_dir}). "
        "Open it, or stop it first (Ctrl+C where it runs"
        + (f", or kill {pid}" if pid else "")
        + "); to run a second one, set INSIGHTER_DATA_DIR to another folder."
    )


def process_environ(pid: int) -> List[str]:
    """A process's environment (empty when gone, a zombie, or not ours)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [entry.decode("utf-8", "replace") for entry in raw.split(b"\0") if entry]


def serves_data_dir(pid: int, data_dir: Path) -> bool:
    """Whether `pid` is a process Insighter started for this data dir (not an
    unrelated one that took a recorded pid over)."""
    return f"INSIGHTER_DATA_DIR={data_dir}" in process_environ(pid)


def end_orphaned_sidecar(settings: InsighterSettings, pid_file: Path) -> Optional[int]:
    """Stops a sidecar whose server is gone (the data dir is ours now, so no
    live server owns it): it would hold the database lock and the port. Its
    process group goes with it. Returns its pid, if there was one."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if pid <= 1 or pid == os.getpid() or not serves_data_dir(pid, settings.data_dir):
        try:
            pid_file.unlink()
        except FileNotFoundError:
            pass
        return None
    log.warning(
        "Insighter Lab: a sidecar of an earlier run is still running on this data dir (pid %d); stopping it.",
        pid,
    )
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + ORPHAN_STOP_TIMEOUT
    while time.monotonic() < deadline and serves_data_dir(pid, settings.data_dir):
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)
    try:
        pid_file.unlink()
    except FileNotFoundError:
        pass
    return pid


def _signal_group(pid: int, sig: int) -> None:
    for send in (lambda: os.killpg(pid, sig), lambda: os.kill(pid, sig)):
        try:
            send()
        except (ProcessLookupError, PermissionError):
            pass


# --- ports ----------------------------------------------------------------------


def port_in_use(host: str, port: int) -> bool:
    """Whether binding `host:port` fails because something listens there (as
    Tornado and Node bind: SO_REUSEADDR, so a closing connection does not count)."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return False
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return True
    return False


def ports_in_use_message(settings: InsighterSettings, check_jupyter_port: bool = True) -> Optional[str]:
    """A message naming each port in use and the variable that moves it, or None."""
    problems = []
    candidates = [("INSIGHTER_API_PORT", settings.api_port, "the Insighter service (sidecar)")]
    if check_jupyter_port:
        candidates.insert(0, ("INSIGHTER_PORT", settings.port, "Insighter Lab (Jupyter)"))
    for variable, port, what in candidates:
        if port_in_use(settings.host, port):
            problems.append(
                f"port {port} on {settings.host}, for {what}, is in use by another program: "
                f"stop it, or set {variable} to a free port"
            )
    if not problems:
        return None
    return "; ".join(problems) + "."


# --- stopping -------------------------------------------------------------------


class OrderlyStop:
    """SIGTERM, SIGINT and SIGHUP stop the server in order within
    `HARD_STOP_AFTER` seconds; a second signal kills everything at once.

    In order: Jupyter stops accepting requests; the sidecar (which fails its
    running process jobs with the reason, leaves Docker jobs for the next
    start and stops its scoring workers) and the kernels stop side by side;
    then Jupyter's own clean-up. A timer thread kills whatever is left when
    time is up, so a stuck step never keeps the tree alive."""

    def __init__(self, app, stop_in_order: Callable[[str], Awaitable[None]], end_now: Callable[[], None]):
        self._app = app
        self._stop_in_order = stop_in_order
        self._end_now = end_now
        self._first: Optional[float] = None

    def install(self, signals: Iterable[int]) -> None:
        for sig in signals:
            signal.signal(sig, self._on_signal)

    def begin(self, reason: str) -> None:
        """Starts the stop from the event loop (not from a signal handler)."""
        if self._first is not None:
            return
        self._first = time.monotonic()
        self._arm_deadline()
        self._app.serverapp.io_loop.add_callback(self._stop_in_order, reason)

    def _on_signal(self, signum: int, frame) -> None:
        now = time.monotonic()
        name = signal.Signals(signum).name
        if self._first is None:
            self._first = now
            self._arm_deadline()
            self._app.serverapp.io_loop.add_callback_from_signal(self._stop_in_order, name)
        elif now - self._first >= SAME_STOP_WINDOW:
            _safe_log(self._app.log, logging.WARNING, "Insighter Lab: %s again, ending everything now.", name)
            self._end_now()

    def _arm_deadline(self) -> None:
        def time_is_up() -> None:
            _safe_log(
                self._app.log,
                logging.WARNING,
                "Insighter Lab did not stop within %.1f s; ending what is left now.",
                HARD_STOP_AFTER,
            )
            self._end_now()

        timer = threading.Timer(HARD_STOP_AFTER, time_is_up)
        timer.daemon = True
        timer.start()


def _safe_log(logger: logging.Logger, level: int, message: str, *args) -> None:
    """Logging that survives a closed terminal (writes to it fail with EIO)."""
    try:
        logger.log(level, message, *args)
    except Exception:  # noqa: BLE001 - nothing may stop the stop
        pass


def kill_kernel_groups(kernel_manager) -> None:
    """SIGKILL to every kernel's process group (a kernel and what it started)."""
    if kernel_manager is None:
        return
    for kernel_id in list(kernel_manager.list_kernel_ids()):
        try:
            provisioner = kernel_manager.get_kernel(kernel_id).provisioner
            process = getattr(provisioner, "process", None)
            pid = getattr(process, "pid", None)
        except Exception:  # noqa: BLE001 - a kernel being removed meanwhile
            continue
        if pid:
            _signal_group(pid, signal.SIGKILL)
