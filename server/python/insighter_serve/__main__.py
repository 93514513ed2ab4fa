"""`python3 -m insighter_serve --model-dir <dir>`: serve one model until stopped.

Once listening it prints one JSON line on stdout,
`{"event": "ready", "port": …, "pid": …}` (or `"socket": <path>` with
`--socket`), which is how the sidecar learns where it answers (`GET /metadata`
then tells the signature); everything else goes to stderr.
`INSIGHTER_SERVE_TOKEN`, when set, is demanded in `X-Insighter-Worker-Token`
by `/invocations` and `/metadata`: any local user can reach a loopback port.

`--loader json` serves the model from its safe format only and forbids
unpickling in the process (no_pickle.py) before anything else is imported;
`--loader pickle` (the default, as `mlflow models serve`) unpickles
`model.pkl`, which the sidecar only ever lets run inside a sandbox.
`--socket <path>` answers on a unix socket instead of TCP: a sandbox has no
network, and the socket's folder is the one thing it shares with the sidecar.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .no_pickle import forbid_unpickling


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="insighter_serve", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="folder with MLmodel, model.pkl and input_example.json")
    parser.add_argument("--loader", choices=("pickle", "json"), default="pickle", help="json: the safe format only, never unpickle")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed in the ready line)")
    parser.add_argument("--socket", help="answer on this unix socket instead of TCP")
    parser.add_argument("--max-body-bytes", type=int, default=64 * 1024 * 1024)
    parser.add_argument("--no-fast-path", action="store_true", help="always call the pipeline itself")
    parser.add_argument("--exit-with-parent", action="store_true", help="stop when the starting process is gone")
    parser.add_argument("--deployment-id", help="names the deployment in its process list and output (not used otherwise)")
    args = parser.parse_args(argv)

    if args.loader == "json":
        # First: nothing imported below may unpickle either.
        forbid_unpickling()
    from .model import ModelLoadError, ServedModel, log
    from .server import exit_with_parent, scoring_server

    if args.exit_with_parent:
        exit_with_parent()
    try:
        model = ServedModel(args.model_dir, fast_path=not args.no_fast_path, loader=args.loader)
    except ModelLoadError as err:
        log(str(err))
        return 3
    log(f"fast path: {model.fast_path_note}")
    token = os.environ.get("INSIGHTER_SERVE_TOKEN") or None
    server = scoring_server(args.socket or (args.host, args.port), model, token, args.max_body_bytes)

    def stop(signum, frame):  # noqa: ARG001 (signal handler signature)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Kept short (the model's details are at /metadata): runners cut long output lines.
    where = {"socket": args.socket} if args.socket else {"port": server.server_address[1]}
    ready = {"event": "ready", **where, "pid": os.getpid()}
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
