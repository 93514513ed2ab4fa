"""MLflow's scoring protocol over HTTP/1.1 (keep-alive), standard library only.

Predictions run one at a time (a lock): they are CPU-bound under the GIL,
and the sidecar sends one micro-batch at a time anyway. Health checks are
answered by their own thread meanwhile.
"""

from __future__ import annotations

import hmac
import json
import os
import socketserver
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional, Tuple, Union

from .inputs import InputError, parse_request
from .model import ServedModel
from .no_pickle import refused_unpickling
from .unix_socket import reachable

#: What MLflow's scoring server answers on `/version`; this worker is not MLflow.
VERSION = "insighter-serve 1"

SUPPORTED_TYPES = ("application/json", "text/csv")
TOKEN_HEADER = "X-Insighter-Worker-Token"


class _Scoring:
    """What the handler needs of its server, on TCP or on a unix socket."""

    def setup_scoring(self, model: ServedModel, token: Optional[str], max_body_bytes: int) -> None:
        self.model = model
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.predict_lock = threading.Lock()


class ScoringServer(_Scoring, ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, model: ServedModel, token: Optional[str], max_body_bytes: int):
        super().__init__(address, ScoringHandler)
        self.setup_scoring(model, token, max_body_bytes)


class UnixScoringServer(_Scoring, socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, model: ServedModel, token: Optional[str], max_body_bytes: int):
        bindable, self._folder = reachable(path)
        if os.path.exists(bindable):
            os.unlink(bindable)
        super().__init__(bindable, UnixScoringHandler)
        self.setup_scoring(model, token, max_body_bytes)

    def server_close(self) -> None:
        super().server_close()
        try:
            os.unlink(self.server_address)
        except OSError:
            pass
        if self._folder is not None:
            os.close(self._folder)


def scoring_server(
    where: Union[str, Tuple[str, int]], model: ServedModel, token: Optional[str], max_body_bytes: int
) -> Union[ScoringServer, UnixScoringServer]:
    """A unix socket for a path, TCP for (host, port)."""
    if isinstance(where, str):
        return UnixScoringServer(where, model, token, max_body_bytes)
    return ScoringServer(where, model, token, max_body_bytes)


class ScoringHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "insighter-serve"
    # Answers are small and written at once: never hold them back.
    disable_nagle_algorithm = True
    server: Union[ScoringServer, UnixScoringServer]

    def do_GET(self) -> None:  # noqa: N802 (the handler's naming)
        path = self.path.split("?", 1)[0]
        if path in ("/ping", "/health"):
            self._reply(200, b"\n")
        elif path == "/version":
            self._reply(200, VERSION.encode(), "text/plain; charset=utf-8")
        elif path == "/metadata":
            if self._authorized():
                self._json(200, {**self.server.model.metadata(), "refused_unpickling": refused_unpickling()})
        else:
            self._error(404, "NOT_FOUND", f"No route for GET {path}.")

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path != "/invocations":
            self._drain()
            self._error(404, "NOT_FOUND", f"No route for POST {path}: predictions are POST /invocations.")
            return
        if not self._authorized():
            return
        content_type = self.headers.get("Content-Type", "")
        media = content_type.split(";", 1)[0].strip().lower()
        body = self._body()
        if body is None:
            return
        if media not in SUPPORTED_TYPES:
            self._error(
                415,
                "BAD_REQUEST",
                f"This predictor only supports the following content types: {list(SUPPORTED_TYPES)}. Got '{media or 'none'}'.",
            )
            return
        model = self.server.model
        try:
            batch = parse_request(body, media, model.signature)
        except InputError as err:
            self._error(400, "BAD_REQUEST", str(err))
            return
        try:
            with self.server.predict_lock:
                predictions = model.predict(batch)
        except Exception as err:  # noqa: BLE001 (the model may raise anything)
            traceback.print_exc(file=sys.stderr)
            self._error(400, "BAD_REQUEST", f"Encountered an unexpected error while evaluating the model: {err}")
            return
        self._json(200, {"predictions": predictions})

    # -- helpers ----------------------------------------------------------

    def _authorized(self) -> bool:
        token = self.server.token
        if token is None:
            return True
        given = self.headers.get(TOKEN_HEADER, "")
        if hmac.compare_digest(given.encode(), token.encode()):
            return True
        self._drain()
        self._error(401, "UNAUTHENTICATED", f"This worker answers only its sidecar ({TOKEN_HEADER}).")
        return False

    def _body(self) -> Optional[bytes]:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._chunked_body()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._error(400, "BAD_REQUEST", "Content-Length is not a number.")
            self.close_connection = True
            return None
        if length > self.server.max_body_bytes:
            self._error(413, "BAD_REQUEST", f"The request body is larger than {self.server.max_body_bytes} bytes.")
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _chunked_body(self) -> Optional[bytes]:
        parts = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                chunk = int(line.split(b";", 1)[0].strip() or b"0", 16)
            except ValueError:
                self._error(400, "BAD_REQUEST", "Malformed chunked body.")
                self.close_connection = True
                return None
            if chunk == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            size += chunk
            if size > self.server.max_body_bytes:
                self._error(413, "BAD_REQUEST", f"The request body is larger than {self.server.max_body_bytes} bytes.")
                self.close_connection = True
                return None
            parts.append(self.rfile.read(chunk))
            self.rfile.readline(1024)

    def _drain(self) -> None:
        """Reads an unwanted body so the connection can be used again."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if 0 < length <= self.server.max_body_bytes:
            self.rfile.read(length)
        elif length:
            self.close_connection = True

    def _json(self, status: int, document) -> None:
        self._reply(status, json.dumps(document, separators=(",", ":")).encode())

    def _error(self, status: int, code: str, message: str) -> None:
        self._json(status, {"error_code": code, "message": message})

    def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        reason = self.responses.get(status, ("",))[0]
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"{'Connection: close' + chr(13) + chr(10) if self.close_connection else ''}"
            "\r\n"
        ).encode("latin-1")
        # One write: headers and body leave in one segment.
        self.wfile.write(head + body)

    def log_message(self, format, *args) -> None:  # noqa: A002 (the base class's name)
        # Per-request lines would cost more than a micro-batch; the sidecar keeps metrics.
        pass


def exit_with_parent() -> None:
    """Ends the worker when the process that started it is gone (e.g. a
    sidecar killed with SIGKILL), so no model server is left behind."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class UnixScoringHandler(ScoringHandler):
    # TCP_NODELAY is TCP's: a unix socket refuses the option.
    disable_nagle_algorithm = False
