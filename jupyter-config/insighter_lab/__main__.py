"""`python3 -m insighter_lab`: run Insighter Lab standalone.

Settings come from the environment (see config.py); the server defaults are
in jupyter-config/insighter_lab_config.py; command-line arguments are
Jupyter's own (`--ServerApp.port=…`) and override both.
"""

import os
import sys

from .config import REPO_ROOT, ConfigError, InsighterSettings


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        settings = InsighterSettings.from_env()
    except ConfigError as error:
        sys.exit(f"Insighter Lab: {error}")
    settings.ensure_dirs()
    # All state lives in the data dir, Jupyter's runtime files (server info,
    # kernel connection files) included, unless the caller chose otherwise.
    os.environ.setdefault("JUPYTER_RUNTIME_DIR", str(settings.run_dir / "jupyter"))

    from .app import InsighterLabApp

    config_file = REPO_ROOT / "jupyter-config" / "insighter_lab_config.py"
    InsighterLabApp.launch_instance([f"--config={config_file}", *argv])


if __name__ == "__main__":
    main()
