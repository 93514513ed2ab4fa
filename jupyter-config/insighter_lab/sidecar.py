"""Supervision of the Insighter sidecar (the Express service in server/).

The supervisor starts the sidecar, forwards its output to the Jupyter log and
to <data dir>/logs/sidecar.log, restarts it with a capped exponential backoff
whenever it exits on its own, records its PID in <data dir>/run/sidecar.pid
and, on shutdown, stops it with SIGTERM and then SIGKILL.

The sidecar runs in its own process group (terminal signals reach Jupyter,
which then stops it in order) and gets SIGTERM if Jupyter dies without
cleaning up (PR_SET_PDEATHSIG), so it never outlives the server.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import json
import logging
import os
import secrets
import signal
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

#: Restart delays: the first is short so a crash costs little, then doubling up to the cap.
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 30.0
#: A sidecar that stayed up this long is "healthy": the next crash restarts it quickly again.
STABLE_AFTER = 30.0
#: How long the sidecar gets to stop after SIGTERM before its group is killed: it
#: ends its own work within 5 s, and a whole stop of Insighter Lab within 10 s.
STOP_TIMEOUT = 6.0
#: The sidecar log is rotated once (to sidecar.log.1) when it grows past this at start.
MAX_LOG_BYTES = 10 * 1024 * 1024

PROXY_SECRET_HEADER = "X-Insighter-Proxy-Secret"

_PR_SET_PDEATHSIG = 1
_libc_prctl = None
try:
    _libc_prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: the process group still gets stopped on shutdown
    pass


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM when the server dies."""
    if _libc_prctl is not None:
        _libc_prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


_PINO_LEVELS = {60: logging.CRITICAL, 50: logging.ERROR, 40: logging.WARNING}
#: pino fields that say nothing a Jupyter log line does not already say.
_PINO_HOUSEKEEPING = frozenset({"level", "time", "pid", "hostname", "service", "msg", "v"})


def _log_line(log: logging.Logger, stream: str, line: str) -> None:
    """Forwards one line of sidecar output; pino's JSON lines keep their level."""
    level = logging.WARNING if stream == "stderr" else logging.INFO
    message = line
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and "msg" in record:
            level = _PINO_LEVELS.get(record.get("level"), logging.INFO)
            message = str(record["msg"])
            err = record.get("err")
            if isinstance(err, dict) and err.get("message"):
                message += f": {err['message']}"
            context = [
                f"{key}={value}"
                for key, value in record.items()
                if key not in _PINO_HOUSEKEEPING and isinstance(value, (str, int, float, bool))
            ]
            if context:
                message += f" ({', '.join(context)})"
    log.log(level, "[sidecar] %s", message)


def _private_log(path: Path):
    """The sidecar log for appending, readable by this OS user only (0600),
    whatever mode an earlier version left it with: it records requests."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "a", encoding="utf-8", errors="replace")


class SidecarSupervisor:
    """Keeps one sidecar process running between `start()` and `stop()`."""

    def __init__(
        self,
        command: Sequence[str],
        env: Dict[str, str],
        pid_file: Path,
        log_file: Path,
        log: logging.Logger,
        cwd: Optional[Path] = None,
        initial_backoff: float = INITIAL_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
        stop_timeout: float = STOP_TIMEOUT,
    ):
        self.command = list(command)
        #: Per start of the server; the sidecar trusts proxied requests only with it.
        self.proxy_secret = secrets.token_urlsafe(32)
        self.env = {**env, "INSIGHTER_PROXY_SECRET": self.proxy_secret}
        self.pid_file = pid_file
        self.log_file = log_file
        self.log = log
        self.cwd = cwd
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.stop_timeout = stop_timeout
        self.restarts = 0
        self._process: Optional[asyncio.subprocess.Process] = None
        self._task: Optional[asyncio.Task] = None
        self._stopping = False
        self._wake = asyncio.Event()

    @property
    def pid(self) -> Optional[int]:
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    @property
    def running(self) -> bool:
        """Whether a sidecar process is alive (it may still be starting to listen)."""
        return self.pid is not None

    def start(self) -> None:
        """Starts supervising; returns at once (the loop must be running)."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.ensure_future(self._supervise())

    async def stop(self) -> None:
        """Stops the sidecar (SIGTERM, then SIGKILL after the timeout) and supervision."""
        self._stopping = True
        self._wake.set()
        await self._terminate()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=self.stop_timeout + 5)
            except asyncio.TimeoutError:
                await self._terminate()
                task.cancel()
        self._remove_pid_file()

    def kill_now(self) -> None:
        """Synchronous stop for interpreter exit, when the event loop no longer runs."""
        self._stopping = True
        process = self._process
        if process is not None and process.returncode is None:
            pid = process.pid
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            else:
                deadline = time.monotonic() + min(self.stop_timeout, 5.0)
                while time.monotonic() < deadline:
                    try:
                        if os.waitpid(pid, os.WNOHANG)[0]:
                            break
                    except ChildProcessError:  # already reaped
                        break
                    time.sleep(0.05)
            self._kill_group(pid, signal.SIGKILL)
        self._remove_pid_file()

    def kill_at_once(self) -> None:
        """SIGKILL to the sidecar's process group, from any thread: a second
        stop signal, or a stop out of time. Its workers and jobs die with it
        (each has a parent-death signal)."""
        self._stopping = True
        process = self._process
        if process is not None and process.returncode is None:
            self._kill_group(process.pid, signal.SIGKILL)
        self._remove_pid_file()

    async def _supervise(self) -> None:
        delay = self.initial_backoff
        while not self._stopping:
            started = time.monotonic()
            returncode = await self._run_once()
            if self._stopping:
                break
            uptime = time.monotonic() - started
            if uptime >= STABLE_AFTER:
                delay = self.initial_backoff
            self.log.warning(
                "Insighter sidecar %s after %.1f s; restarting in %.1f s.",
                "could not be started" if returncode is None else f"exited with code {returncode}",
                uptime,
                delay,
            )
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
            delay = min(delay * 2, self.max_backoff)
            self.restarts += 1

    async def _run_once(self) -> Optional[int]:
        """Runs the sidecar until it exits; None when it could not be started."""
        missing = [arg for arg in self.command[1:2] if arg.endswith(".js") and not os.path.exists(arg)]
        if missing:
            self.log.error(
                "Insighter sidecar is not built: %s is missing. Build it with "
                "`npx tsc -b server` (or `npm run build`).",
                missing[0],
            )
            return None
        self._rotate_log()
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command,
                env=self.env,
                cwd=str(self.cwd) if self.cwd else None,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                limit=1024 * 1024,
            )
        except OSError as error:
            self.log.error("Insighter sidecar could not be started (%s): %s", " ".join(self.command), error)
            return None
        self._process = process
        if self._stopping:  # stop() came while the process was being spawned
            process.send_signal(signal.SIGTERM)
        self._write_pid_file(process.pid)
        self.log.info("Insighter sidecar started (pid %d): %s", process.pid, " ".join(self.command))
        with _private_log(self.log_file) as log_file:
            log_file.write(f"--- sidecar started, pid {process.pid}, {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            log_file.flush()
            await asyncio.gather(
                self._pump(process.stdout, "stdout", log_file),
                self._pump(process.stderr, "stderr", log_file),
                process.wait(),
            )
        # Whatever the sidecar left behind in its group (job processes) goes with it.
        self._kill_group(process.pid, signal.SIGKILL)
        if self.pid_file_pid() == process.pid:
            self._remove_pid_file()
        return process.returncode

    async def _pump(self, stream, name: str, log_file) -> None:
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line longer than the stream limit: take what is there
                raw = await stream.read(64 * 1024)
            if not raw:
                return
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            log_file.write(line + "\n")
            log_file.flush()
            if line:
                _log_line(self.log, name, line)

    async def _terminate(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        self.log.info("Stopping Insighter sidecar (pid %d).", process.pid)
        try:
            process.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            await asyncio.wait_for(process.wait(), timeout=self.stop_timeout)
        except asyncio.TimeoutError:
            self.log.warning(
                "Insighter sidecar did not stop within %.0f s; killing it.", self.stop_timeout
            )
            self._kill_group(process.pid, signal.SIGKILL)
            await process.wait()
        self._kill_group(process.pid, signal.SIGKILL)

    @staticmethod
    def _kill_group(pgid: int, sig: int) -> None:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _write_pid_file(self, pid: int) -> None:
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.pid_file.with_suffix(".pid.tmp")
        tmp.write_text(f"{pid}\n")
        tmp.replace(self.pid_file)

    def pid_file_pid(self) -> Optional[int]:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _remove_pid_file(self) -> None:
        try:
            self.pid_file.unlink()
        except FileNotFoundError:
            pass

    def _rotate_log(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            if self.log_file.stat().st_size > MAX_LOG_BYTES:
                self.log_file.replace(self.log_file.with_suffix(".log.1"))
        except FileNotFoundError:
            pass
