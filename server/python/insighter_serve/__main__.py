"""`python3 -m insighter_serve --model-dir <dir>`: serve one model until stopped.

Once listening it prints one JSON line on stdout,
`{"event": "ready", "port": …, "pid": …}`, which is how the sidecar learns its
port (`GET /metadata` then tells the signature); everything else goes to stderr.
`INSIGHTER_SERVE_TOKEN`, when set, is demanded in `X-Insighter-Worker-Token`
by `/invocations` and `/metadata`: any local user can reach a loopback port.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .model import ModelLoadError, ServedModel, log
from .server import ScoringServer, exit_with_parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="insighter_serve", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="folder with MLmodel, model.pkl and input_example.json")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed in the ready line)")
    parser.add_argument("--max-body-bytes", type=int, default=64 * 1024 * 1024)
    parser.add_argument("--no-fast-path", action="store_true", help="always call the pipeline itself")
    parser.add_argument("--exit-with-parent", action="store_true", help="stop when the starting process is gone")
    parser.add_argument("--deployment-id", help="names the deployment in its process list and output (not used otherwise)")
    args = parser.parse_args(argv)

    if args.exit_with_parent:
        exit_with_parent()
    try:
        model = ServedModel(args.model_dir, fast_path=not args.no_fast_path)
    except ModelLoadError as err:
        log(str(err))
        return 3
    log(f"fast path: {model.fast_path_note}")
    token = os.environ.get("INSIGHTER_SERVE_TOKEN") or None
    server = ScoringServer((args.host, args.port), model, token, args.max_body_bytes)

    def stop(signum, frame):  # noqa: ARG001 (signal handler signature)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Kept short (the model's details are at /metadata): runners cut long output lines.
    ready = {"event": "ready", "port": server.server_address[1], "pid": os.getpid()}
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
