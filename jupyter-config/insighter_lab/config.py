"""Insighter Lab's settings, read from the environment.

The variable names are contracts shared with the sidecar, the scripts and
the tests: add new ones, never rename.

    INSIGHTER_HOST          interface Jupyter and the sidecar listen on (127.0.0.1)
    INSIGHTER_PORT          Jupyter's port (8888)
    INSIGHTER_API_PORT      the sidecar's port (8000)
    INSIGHTER_TOKEN         Jupyter's token; unset: a random one is generated and
                            printed; set to "": no token at all (UI tests only)
    INSIGHTER_DATA_DIR      all state: settings, workspaces, notebooks, logs (~/.insighter)
    INSIGHTER_NOTEBOOK_DIR  the notebooks' root folder (<data dir>/notebooks)
    INSIGHTER_APP_DIR       the built frontend to serve (extensions/app/build)
    INSIGHTER_SIDECAR_COMMAND  how to start the sidecar (<node> server/lib/main.js)
    INSIGHTER_NODE          the Node.js the sidecar runs on (set by `npm start` to a
                            supported one; else the first `node` on PATH)
    INSIGHTER_PUBLIC_URL    where clients outside the lab reach the sidecar (a reverse
                            proxy's address); passed to it as it is

Set by Insighter Lab for the sidecar: INSIGHTER_PROXY_URL (this server's proxy,
where the lab's browser reaches it) and INSIGHTER_PROXY_SECRET.

Set by Insighter Lab for its kernels and terminals (the `insighter` package
reads them; jupyter-config/insighter/_client.py):

    INSIGHTER_API_URL         the sidecar's direct loopback URL
    INSIGHTER_KERNEL_SESSION  <data dir>/run/kernel-session.json: the signed-in
                              person's access token (0600), kept by the browser
    INSIGHTER_NOTEBOOK_ROOT   the notebooks' root folder
    PYTHONPATH                with jupyter-config/ first, where `insighter` is
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8888
DEFAULT_API_PORT = 8000
DEFAULT_DATA_DIR = "~/.insighter"

#: The repository checkout this package lives in (jupyter-config/insighter_lab/..).
REPO_ROOT = Path(__file__).resolve().parents[2]


class ConfigError(ValueError):
    """An environment variable has a value Insighter Lab cannot use."""


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a port number, not {raw!r}") from None
    if not 0 < port < 65536:
        raise ConfigError(f"{name} must be between 1 and 65535, not {port}")
    return port


def _path(env: Mapping[str, str], name: str, default: Path) -> Path:
    raw = env.get(name, "").strip()
    return Path(raw).expanduser().resolve() if raw else default


@dataclass(frozen=True)
class InsighterSettings:
    host: str
    port: int
    api_port: int
    #: None: generate one; "": authentication disabled.
    token: Optional[str]
    data_dir: Path
    notebook_dir: Path
    app_dir: Path
    sidecar_command: tuple

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "InsighterSettings":
        env = os.environ if env is None else env
        data_dir = _path(env, "INSIGHTER_DATA_DIR", Path(DEFAULT_DATA_DIR).expanduser().resolve())
        command = env.get("INSIGHTER_SIDECAR_COMMAND", "").strip()
        if command:
            sidecar_command = tuple(shlex.split(command))
        else:
            node = (
                env.get("INSIGHTER_NODE", "").strip()
                or shutil.which("node", path=env.get("PATH"))
                or "node"
            )
            sidecar_command = (node, str(REPO_ROOT / "server" / "lib" / "main.js"))
        return cls(
            host=env.get("INSIGHTER_HOST", "").strip() or DEFAULT_HOST,
            port=_port(env, "INSIGHTER_PORT", DEFAULT_PORT),
            api_port=_port(env, "INSIGHTER_API_PORT", DEFAULT_API_PORT),
            token=env.get("INSIGHTER_TOKEN"),
            data_dir=data_dir,
            notebook_dir=_path(env, "INSIGHTER_NOTEBOOK_DIR", data_dir / "notebooks"),
            app_dir=_path(env, "INSIGHTER_APP_DIR", REPO_ROOT / "extensions" / "app" / "build"),
            sidecar_command=sidecar_command,
        )

    @property
    def settings_dir(self) -> Path:
        return self.data_dir / "settings"

    @property
    def workspaces_dir(self) -> Path:
        return self.data_dir / "workspaces"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def sidecar_pid_file(self) -> Path:
        return self.run_dir / "sidecar.pid"

    @property
    def kernel_session_file(self) -> Path:
        return self.run_dir / "kernel-session.json"

    @property
    def sidecar_log_file(self) -> Path:
        return self.logs_dir / "sidecar.log"

    @property
    def sidecar_connect_host(self) -> str:
        """The address to reach the sidecar at (a wildcard bind is reached on loopback)."""
        if self.host in ("0.0.0.0", ""):
            return "127.0.0.1"
        if self.host == "::":
            return "::1"
        return self.host

    @property
    def sidecar_url(self) -> str:
        host = self.sidecar_connect_host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.api_port}"

    def ensure_dirs(self) -> None:
        """Creates the folders Insighter Lab writes to; the data dir is private (0700)."""
        keep_new_files_private()
        for folder in (
            self.data_dir,
            self.notebook_dir,
            self.settings_dir,
            self.workspaces_dir,
            self.logs_dir,
            self.run_dir,
        ):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A data dir made by an earlier version (or by hand) may be open to everyone.
        os.chmod(self.data_dir, 0o700)


#: Permission bits of group and others.
SHARED_BITS = 0o077


def keep_new_files_private() -> None:
    """From now on this process, the sidecar and the kernels it starts create
    folders 0700 and files 0600: the data dir holds the database, secrets, logs
    and notebooks of one OS user, and nothing in it is for anyone else. (The
    sidecar also takes group and other bits off what is already there.)"""
    os.umask(SHARED_BITS)
