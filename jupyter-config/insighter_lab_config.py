# Insighter Lab's server defaults, loaded by `python3 -m insighter_lab`
# (as `--config`). The environment decides (names in insighter_lab/config.py):
#
#   INSIGHTER_HOST=127.0.0.1   INSIGHTER_PORT=8888     INSIGHTER_API_PORT=8000
#   INSIGHTER_DATA_DIR=~/.insighter   INSIGHTER_NOTEBOOK_DIR=<data dir>/notebooks
#   INSIGHTER_TOKEN  unset: a random token, printed in the start-up line;
#                    set to "": no token and no login at all. Only for UI tests
#                    on a loopback address: anyone who can reach the port can
#                    run code as you.
#
# Command-line arguments (`--ServerApp.port=9999`) override what is set here.
import os
import secrets

from insighter_lab.config import InsighterSettings

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

insighter = InsighterSettings.from_env()

c.ServerApp.ip = insighter.host
c.ServerApp.port = insighter.port
# A port that is taken is an error to report, not a reason to pick another one.
c.ServerApp.port_retries = 0
c.ServerApp.open_browser = False
c.ServerApp.root_dir = str(insighter.notebook_dir)
c.ServerApp.preferred_dir = str(insighter.notebook_dir)
c.ServerApp.default_url = "/lab"
c.ServerApp.token = insighter.token if insighter.token is not None else secrets.token_hex(24)
c.ServerApp.allow_root = os.geteuid() == 0
c.ServerApp.terminals_enabled = True
