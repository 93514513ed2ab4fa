"""`python3 -m insighter_lab`: run Insighter Lab standalone.

Settings come from the environment (see config.py); the server defaults are
in jupyter-config/insighter_lab_config.py; command-line arguments are
Jupyter's own (`--ServerApp.port=…`) and override both.
"""

import os
import sys

from . import lifecycle
from .config import REPO_ROOT, ConfigError, InsighterSettings


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        settings = InsighterSettings.from_env()
    except ConfigError as error:
        sys.exit(f"Insighter Lab: {error}")
    settings.ensure_dirs()
    # One Insighter per data dir: a live one is named; what a dead one left is taken over.
    try:
        lifecycle.claim_data_dir(settings)
    except lifecycle.AlreadyRunning as error:
        sys.exit(f"Insighter Lab: {error}")
    lifecycle.end_orphaned_sidecar(settings, settings.sidecar_pid_file)
    ports_chosen_here = any(arg.startswith(("--port", "--ServerApp.port")) for arg in argv)
    busy = lifecycle.ports_in_use_message(settings, check_jupyter_port=not ports_chosen_here)
    if busy:
        sys.exit(f"Insighter Lab: {busy[0].upper()}{busy[1:]}")
    # `npm start` (or whoever started this) gone: stop in order, taking the tree along.
    lifecycle.exit_with_parent()
    # All state lives in the data dir, Jupyter's runtime files (server info,
    # kernel connection files) included, unless the caller chose otherwise.
    os.environ.setdefault("JUPYTER_RUNTIME_DIR", str(settings.run_dir / "jupyter"))

    from .app import InsighterLabApp

    config_file = REPO_ROOT / "jupyter-config" / "insighter_lab_config.py"
    InsighterLabApp.launch_instance([f"--config={config_file}", *argv])


if __name__ == "__main__":
    main()
