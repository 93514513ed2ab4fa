"""The Insighter Lab server application.

A `jupyterlab_server.LabServerApp` that serves the frontend built in
extensions/app/build, keeps user settings and workspaces in the data dir,
starts and supervises the sidecar, and proxies it at `<base_url>insighter/`.
It runs standalone (`python3 -m insighter_lab`) or as a server extension of
another Jupyter server (JupyterHub's single-user server).
"""

from __future__ import annotations

import asyncio
import atexit
import inspect
import json
import os
import signal
from typing import Optional

from jupyter_server.utils import url_path_join
from jupyterlab_server import LabServerApp
from traitlets import Unicode, default

from . import __version__
from .config import REPO_ROOT, InsighterSettings
from .kernel_session import KernelSessionFile, kernel_session_handlers
from .lifecycle import OrderlyStop, bind_kernels_to_server, current_claim, kill_kernel_groups
from .proxy import PROXY_PREFIX, ProxyTarget, proxy_rules
from .shims import shim_handlers
from .sidecar import SidecarSupervisor

HERE = os.path.dirname(os.path.abspath(__file__))
#: jupyter-config/: holds `insighter`, the package kernels import.
PACKAGES_DIR = os.path.dirname(HERE)


def _app_version() -> str:
    try:
        with open(REPO_ROOT / "extensions" / "app" / "package.json", encoding="utf-8") as f:
            return str(json.load(f)["version"])
    except (OSError, ValueError, KeyError):
        return __version__


class InsighterLabApp(LabServerApp):
    name = "insighter_lab"
    app_name = "Insighter Lab"
    description = "Insighter Lab: the ML workbench inside JupyterLab."
    extension_url = "/lab"
    default_url = Unicode("/lab", help="Where `/` redirects to.").tag(config=True)
    load_other_extensions = True

    #: Filled from the environment once; see config.py for the variables.
    _settings: Optional[InsighterSettings] = None
    supervisor: Optional[SidecarSupervisor] = None
    kernel_session: Optional[KernelSessionFile] = None
    orderly_stop: Optional[OrderlyStop] = None

    @property
    def insighter(self) -> InsighterSettings:
        if self._settings is None:
            self._settings = InsighterSettings.from_env()
        return self._settings

    # --- where things are -------------------------------------------------

    @default("app_version")
    def _default_app_version(self) -> str:
        return _app_version()

    @default("static_dir")
    def _default_static_dir(self) -> str:
        return str(self.insighter.app_dir)

    @default("schemas_dir")
    def _default_schemas_dir(self) -> str:
        return str(self.insighter.app_dir / "schemas")

    @default("themes_dir")
    def _default_themes_dir(self) -> str:
        return str(self.insighter.app_dir / "themes")

    @default("templates_dir")
    def _default_templates_dir(self) -> str:
        return os.path.join(HERE, "templates")

    @default("app_settings_dir")
    def _default_app_settings_dir(self) -> str:
        # overrides.json: Insighter's defaults for JupyterLab's settings.
        return os.path.join(HERE, "app_settings")

    @default("user_settings_dir")
    def _default_user_settings_dir(self) -> str:
        return str(self.insighter.settings_dir)

    @default("workspaces_dir")
    def _default_workspaces_dir(self) -> str:
        return str(self.insighter.workspaces_dir)

    @default("labextensions_path")
    def _default_labextensions_path(self) -> list:
        # The frontend is one static bundle: it loads no prebuilt extensions,
        # so it advertises none (e.g. ones Debian installed for another lab).
        return []

    # --- extension hooks --------------------------------------------------

    def initialize_settings(self) -> None:
        super().initialize_settings()
        settings = self.insighter
        settings.ensure_dirs()
        if not (settings.app_dir / "bundle.js").exists():
            self.log.error(
                "Insighter Lab's frontend is not built: %s has no bundle.js. "
                "Build it with `npm run build -w @insighter/app`.",
                settings.app_dir,
            )
        base_url = self.serverapp.base_url
        env = dict(os.environ)
        env.pop("INSIGHTER_TOKEN", None)  # Jupyter's credential, not the sidecar's business
        env.update(
            INSIGHTER_HOST=settings.host,
            INSIGHTER_API_PORT=str(settings.api_port),
            INSIGHTER_DATA_DIR=str(settings.data_dir),
        )
        self.supervisor = SidecarSupervisor(
            command=settings.sidecar_command,
            env=env,
            pid_file=settings.sidecar_pid_file,
            log_file=settings.sidecar_log_file,
            log=self.log,
            cwd=REPO_ROOT,
        )
        self.proxy_target = ProxyTarget(
            host=settings.sidecar_connect_host,
            port=settings.api_port,
            prefix=url_path_join(base_url, PROXY_PREFIX),
            supervisor=self.supervisor,
        )
        page_config = self.serverapp.web_app.settings.setdefault("page_config_data", {})
        page_config.update(
            insighterApiUrl=url_path_join(base_url, PROXY_PREFIX) + "/",
            insighterDirectUrl=settings.sidecar_url,
            # As JupyterLab's own server does: API calls then carry the token
            # and work even where the login cookie is not sent.
            token=self.serverapp.token,
        )
        # Kernels die with this server, even when it is killed.
        bind_kernels_to_server(self.serverapp.kernel_manager)
        self.kernel_session = KernelSessionFile(settings.kernel_session_file)
        # A token left by an earlier run belongs to no page of this one.
        self.kernel_session.clear()
        self._export_kernel_env(settings)
        atexit.register(self._stop_sidecar_at_exit)
        # Once the loop runs the server is listening (its port is known).
        self.serverapp.io_loop.add_callback(self._on_server_started)

    def initialize_handlers(self) -> None:
        super().initialize_handlers()
        self.handlers.extend(shim_handlers())
        assert self.kernel_session is not None
        self.handlers.extend(kernel_session_handlers(self.kernel_session))
        # Rules (not tuples): the WebSocket route matches on the Upgrade header.
        self.serverapp.web_app.add_handlers(
            ".*$", proxy_rules(self.serverapp.base_url, self.proxy_target)
        )

    def _export_kernel_env(self, settings: InsighterSettings) -> None:
        """What kernels (and terminals) inherit to use the `insighter` package.
        Set after the sidecar's environment was copied: it needs none of it."""
        paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        if PACKAGES_DIR not in paths:
            os.environ["PYTHONPATH"] = os.pathsep.join([PACKAGES_DIR, *paths])
        assert self.kernel_session is not None
        os.environ.update(
            INSIGHTER_API_URL=settings.sidecar_url,
            INSIGHTER_KERNEL_SESSION=str(self.kernel_session.path),
            INSIGHTER_NOTEBOOK_ROOT=os.path.abspath(self.serverapp.root_dir),
        )
        os.environ.pop("INSIGHTER_ACCESS_TOKEN", None)  # the session file speaks for the user

    def _proxy_url(self) -> str:
        """Where the lab's browser reaches the sidecar: through this server's proxy."""
        return url_path_join(self.serverapp.connection_url, PROXY_PREFIX)

    def _on_server_started(self) -> None:
        assert self.supervisor is not None
        # INSIGHTER_PUBLIC_URL, when set, reaches the sidecar with the rest of
        # the environment: it is where clients outside the lab reach it.
        self.supervisor.env["INSIGHTER_PROXY_URL"] = self._proxy_url()
        self.supervisor.start()
        if self.serverapp.starter_app is self:
            self._take_over_signals()
            claim = current_claim()
            if claim is not None:
                claim.describe(self.lab_url(with_token=False))
            print(f"Insighter Lab is running at {self.lab_url()}", flush=True)

    # --- stopping (standalone; under JupyterHub the hub stops the server) ---

    def _take_over_signals(self) -> None:
        """Jupyter's own handlers stop extensions, kernels and terminals one
        after the other, ask for confirmation on a terminal's Ctrl+C and
        leave SIGHUP (a closed terminal) to kill the server without any
        clean-up. These stop everything side by side, within a bound."""
        self.orderly_stop = OrderlyStop(self, self._stop_in_order, self._end_now)
        signals = [signal.SIGTERM, signal.SIGINT]
        # Under nohup SIGHUP is ignored on purpose: keep it that way.
        if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
            signals.append(signal.SIGHUP)
        self.orderly_stop.install(signals)

    async def _stop_in_order(self, reason: str) -> None:
        server = self.serverapp
        self.log.info("Stopping Insighter Lab (%s): the sidecar, its jobs and the kernels.", reason)
        if hasattr(server, "_http_server"):
            server.http_server.stop()
        steps = [self._shutdown_kernels()]
        if self.supervisor is not None:
            steps.append(self.supervisor.stop())
        for outcome in await asyncio.gather(*steps, return_exceptions=True):
            if isinstance(outcome, BaseException):
                self.log.warning("Insighter Lab: a step of the stop failed: %s", outcome)
        # Jupyter's own clean-up (server info file, terminals), then the loop ends.
        server.stop()

    async def _shutdown_kernels(self) -> None:
        manager = getattr(self.serverapp, "kernel_manager", None)
        if manager is None or not manager.list_kernel_ids():
            return
        result = manager.shutdown_all()
        if inspect.isawaitable(result):
            await result

    def _end_now(self) -> None:
        """Kills the sidecar's and the kernels' process groups and exits: a
        second signal, or a stop that overran its time. Any thread."""
        if self.supervisor is not None:
            self.supervisor.kill_at_once()
        kill_kernel_groups(getattr(self.serverapp, "kernel_manager", None))
        if self.kernel_session is not None:
            self.kernel_session.clear()
        claim = current_claim()
        if claim is not None:
            claim.release()
        os._exit(1)

    def lab_url(self, with_token: bool = True) -> str:
        """The URL to open, with the token when there is one (unless not wanted)."""
        server = self.serverapp
        ip = server.ip
        if ip in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif ip == "::":
            host = "[::1]"
        elif ":" in ip:
            host = f"[{ip}]"
        else:
            host = ip
        url = f"http://{host}:{server.port}{url_path_join(server.base_url, 'lab')}"
        return f"{url}?token={server.token}" if server.token and with_token else url

    async def stop_extension(self) -> None:
        if self.kernel_session is not None:
            self.kernel_session.clear()
        if self.supervisor is not None:
            await self.supervisor.stop()

    def _stop_sidecar_at_exit(self) -> None:
        """Last resort when the loop ended without a clean shutdown."""
        if self.kernel_session is not None:
            self.kernel_session.clear()
        if self.supervisor is not None:
            self.supervisor.kill_now()
        claim = current_claim()
        if claim is not None:
            claim.release()
