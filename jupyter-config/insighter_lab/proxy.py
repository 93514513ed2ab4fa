"""Authenticated reverse proxy from `<base_url>insighter/` to the sidecar.

Every HTTP method is forwarded with its body and headers; bodies stream both
ways with backpressure (an upload is written upstream as it arrives, a
download is written to the browser as it is read, and neither is ever held
whole in memory). WebSocket upgrades on the same prefix are relayed both
ways. Jupyter's own authentication applies, exactly as for any Jupyter API:
token or login cookie, XSRF for unsafe methods, the origin check — with one
exception, a keyed prediction (see `keyed_prediction`): `POST
<base_url>insighter/api/v1/predict/<slug>` with an API key or bearer token
and no cookie goes through without Jupyter's login, and without the proxy
secret, so the endpoint shown in the lab works from any shell or service.

What the sidecar receives:
- `X-Insighter-Proxy-Secret: <secret>`: the request came through an
  authenticated Jupyter session (an incoming header of that name is dropped);
- `X-Forwarded-For`, `-Proto`, `-Host` and `-Prefix` (the public path prefix);
- `Authorization` from `X-Insighter-Authorization` when the browser sent one:
  a page that authenticates to Jupyter with `Authorization: token …` carries
  the user's Supabase access token in that header instead;
- every other header, except hop-by-hop ones and Jupyter's own credentials
  (its token, as `Authorization: token …` or `?token=`, its login and XSRF
  cookies and the `X-XSRFToken` header), which are meant for Jupyter, not
  for the sidecar.

What the browser receives: the sidecar's answer, with Jupyter's default
headers kept beside it and `Content-Security-Policy: sandbox` and
`X-Content-Type-Options: nosniff` added, so nothing the sidecar serves (an
uploaded file above all) runs as a page of the lab's origin.
"""

from __future__ import annotations

import json
import re
from typing import Any, Awaitable, Optional, Tuple
from urllib.parse import unquote_plus

from jupyter_server._tz import utcnow
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.zmqhandlers import WebSocketMixin
from tornado import httputil, web
from tornado.http1connection import HTTP1Connection, HTTP1ConnectionParameters
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.iostream import StreamClosedError
from tornado.routing import PathMatches
from tornado.tcpclient import TCPClient
from tornado.ioloop import IOLoop
from tornado.routing import Rule
from tornado.websocket import (
    WebSocketClosedError,
    WebSocketError,
    WebSocketHandler,
    websocket_connect,
)

from .sidecar import PROXY_SECRET_HEADER

#: Path segment under the server's base URL where the sidecar is reachable.
PROXY_PREFIX = "insighter"

CONNECT_TIMEOUT = 5.0
CHUNK_SIZE = 64 * 1024
#: Uploads stream through without being held, so Jupyter's request size limit
#: (512 MiB) does not apply to them; the sidecar enforces its own.
MAX_UPLOAD_BYTES = 64 * 1024**3

HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        # The proxy answers `Expect: 100-continue` itself (tornado does).
        "Expect",
    )
)
WEBSOCKET_HANDSHAKE = frozenset(
    h.lower()
    for h in (
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Extensions",
        "Sec-WebSocket-Protocol",
        "Sec-WebSocket-Accept",
    )
)
#: Headers the proxy sets itself; incoming values are dropped or replaced.
#: Where the browser puts the user's access token when `Authorization` holds Jupyter's.
ACCESS_TOKEN_HEADER = "X-Insighter-Authorization"

PROXY_SET = frozenset(
    h.lower() for h in ("Host", PROXY_SECRET_HEADER, "X-Forwarded-Prefix", ACCESS_TOKEN_HEADER)
)
#: Jupyter's XSRF token headers (tornado reads both): Jupyter's, not the sidecar's.
JUPYTER_XSRF = frozenset(h.lower() for h in ("X-XSRFToken", "X-CSRFToken"))
#: Whatever the sidecar answers is data, never a page of the lab's origin: a
#: document that renders anyway runs sandboxed (an opaque origin without
#: scripts, so no access to Jupyter's cookies or APIs), and the browser takes
#: the type as sent instead of guessing HTML from the bytes.
SANDBOX_POLICY = "sandbox"

#: The prediction endpoint, as the raw path after the prefix (no percent
#: escapes, no dots: nothing that could name another route once decoded).
PREDICTION_PATH = re.compile(r"api/v1/predict/[A-Za-z0-9_-]{1,100}/?")


def keyed_prediction(method: str, path: str, headers: httputil.HTTPHeaders) -> bool:
    """Whether a request is a prediction that carries its own credential.

    Jupyter's login and XSRF check guard what Jupyter's credentials (its
    token, its login cookie) allow. A `POST` to the prediction endpoint that
    sends an API key (`X-API-Key`) or a bearer token and *no cookie at all*
    uses none of them: the sidecar authenticates the key, and a forged
    cross-site request has nothing ambient to ride on (XSRF is an attack on
    cookies), it would have to know the key. So such a request needs no
    Jupyter session; it gets none either (no proxy secret), and is exactly
    as privileged as the same request sent to the sidecar's own port.
    """
    if method != "POST" or "Cookie" in headers:
        return False
    if not PREDICTION_PATH.fullmatch(path):
        return False
    if headers.get("X-API-Key", "").strip():
        return True
    scheme, _, credential = headers.get("Authorization", "").strip().partition(" ")
    return scheme.lower() == "bearer" and bool(credential.strip())


UNAVAILABLE = {
    "error": {
        "code": "sidecar_unavailable",
        "message": "The Insighter service is not running; it is being restarted.",
    }
}


class SidecarUnavailable(Exception):
    """The sidecar cannot be reached (not running, not listening, or it hung up)."""


class ProxyTarget:
    """Where the sidecar is and what the proxy tells it; shared by the handlers."""

    def __init__(self, host: str, port: int, prefix: str, supervisor: Any):
        self.host = host
        self.port = port
        #: Public path of the proxy, e.g. `/user/alice/insighter` (no trailing slash).
        self.prefix = prefix.rstrip("/")
        #: SidecarSupervisor (or anything with `running` and `proxy_secret`).
        self.supervisor = supervisor

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def available(self) -> bool:
        return bool(self.supervisor.running)

    @property
    def secret(self) -> str:
        return self.supervisor.proxy_secret


def _connection_tokens(headers: httputil.HTTPHeaders) -> set:
    """Header names listed in `Connection:` are hop-by-hop too (RFC 9110 7.6.1)."""
    tokens = set()
    for value in headers.get_list("Connection"):
        tokens.update(t.strip().lower() for t in value.split(",") if t.strip())
    return tokens


class _ProxyMixin:
    """What the HTTP and the WebSocket handler share: auth and upstream headers."""

    target: ProxyTarget
    request: httputil.HTTPServerRequest

    def initialize(self, target: ProxyTarget) -> None:
        self.target = target

    def _jupyter_token(self) -> str:
        return self.settings.get("token") or ""  # type: ignore[attr-defined]

    def _sidecar_path(self) -> str:
        """The raw (still percent-encoded) path below the prefix, without `/` or query."""
        path = self.request.path
        marker = f"/{PROXY_PREFIX}/"
        index = path.find(marker)
        return path[index + len(marker) :] if index >= 0 else ""

    def _upstream_path(self) -> str:
        """The raw (still percent-encoded) path and query to request upstream."""
        query = self._upstream_query()
        return "/" + self._sidecar_path() + (f"?{query}" if query else "")

    def _upstream_query(self) -> str:
        token = self._jupyter_token()
        if not token or not self.request.query:
            return self.request.query
        kept = []
        for part in self.request.query.split("&"):
            name, _, value = part.partition("=")
            if unquote_plus(name) == "token" and unquote_plus(value) == token:
                continue
            kept.append(part)
        return "&".join(kept)

    def _strip_jupyter_cookies(self, value: str) -> str:
        ours = {self.cookie_name, "_xsrf"}  # type: ignore[attr-defined]
        kept = [
            part.strip()
            for part in value.split(";")
            if part.strip() and part.split("=", 1)[0].strip() not in ours
        ]
        return "; ".join(kept)

    def _upstream_headers(self, websocket: bool = False) -> httputil.HTTPHeaders:
        incoming = self.request.headers
        drop = HOP_BY_HOP | PROXY_SET | JUPYTER_XSRF | _connection_tokens(incoming)
        if websocket:
            drop = drop | WEBSOCKET_HANDSHAKE
        token = self._jupyter_token()
        headers = httputil.HTTPHeaders()
        for name, value in incoming.get_all():
            lname = name.lower()
            if lname in drop:
                continue
            if lname == "authorization" and token:
                scheme, _, credential = value.strip().partition(" ")
                if scheme.lower() == "token" and credential.strip() == token:
                    continue
            if lname == "cookie":
                value = self._strip_jupyter_cookies(value)
                if not value:
                    continue
            headers.add(name, value)
        headers["Host"] = self.target.netloc
        if not self._jupyter_session:
            # No Jupyter session vouches for this request: it reaches the
            # sidecar as if sent to its own port (see `keyed_prediction`).
            return headers
        remote = self.request.remote_ip or ""
        prior = incoming.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{prior}, {remote}" if prior else remote
        if "X-Forwarded-Proto" not in incoming:
            headers["X-Forwarded-Proto"] = self.request.protocol
        if "X-Forwarded-Host" not in incoming:
            headers["X-Forwarded-Host"] = self.request.host
        headers["X-Forwarded-Prefix"] = self.target.prefix
        headers[PROXY_SECRET_HEADER] = self.target.secret
        # The user's own credential for the sidecar wins over whatever was
        # left in Authorization (Jupyter's token has been dropped above).
        bearer = incoming.get(ACCESS_TOKEN_HEADER)
        if bearer:
            headers["Authorization"] = bearer
        return headers

    #: Whether Jupyter authenticated the request (then the sidecar is told so).
    _jupyter_session = True

    def _authenticate(self) -> None:
        if not self.check_origin():  # type: ignore[attr-defined]
            raise web.HTTPError(404)
        if not self.current_user:  # type: ignore[attr-defined]
            if not self._is_keyed_prediction():
                raise web.HTTPError(403, "Authentication required (Jupyter token or login).")
            self._jupyter_session = False
            return
        # Work in Insighter is activity: idle culling must not stop a busy server.
        self.settings["api_last_activity"] = utcnow()  # type: ignore[attr-defined]

    def _is_keyed_prediction(self) -> bool:
        return keyed_prediction(
            self.request.method or "", self._sidecar_path(), self.request.headers
        )


class _UpstreamResponse(httputil.HTTPMessageDelegate):
    """Writes the sidecar's response to the browser as it arrives."""

    def __init__(self, handler: "InsighterProxyHandler"):
        self.handler = handler
        self.started = False

    def headers_received(
        self, start_line: httputil.ResponseStartLine, headers: httputil.HTTPHeaders  # type: ignore[override]
    ) -> None:
        if 100 <= start_line.code < 200:
            return  # interim responses are the proxy's business, not the browser's
        self.started = True
        self.handler.relay_headers(start_line, headers)

    async def data_received(self, chunk: bytes) -> None:
        self.handler.write(chunk)
        await self.handler.flush()


@web.stream_request_body
class InsighterProxyHandler(_ProxyMixin, JupyterHandler):
    """Forwards `<base_url>insighter/<path>` to `http://<sidecar>/<path>`."""

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

    _upstream: Optional[HTTP1Connection] = None
    _chunk_manually = False

    def check_xsrf_cookie(self) -> None:
        # XSRF protects what a cookie authenticates; a keyed prediction sends
        # none (see `keyed_prediction`).
        if self._is_keyed_prediction():
            return
        super().check_xsrf_cookie()

    async def prepare(self) -> None:
        result = super().prepare()
        if result is not None:
            await result
        self._authenticate()
        self.request.connection.set_max_body_size(MAX_UPLOAD_BYTES)  # type: ignore[union-attr]
        # Open the upstream request now, so a streamed body goes straight through.
        try:
            await self._open_upstream()
        except SidecarUnavailable:
            self._close_upstream()
            self._send_unavailable()

    async def _open_upstream(self) -> None:
        if not self.target.available:
            raise SidecarUnavailable()
        try:
            stream = await TCPClient().connect(
                self.target.host, self.target.port, timeout=CONNECT_TIMEOUT
            )
        except (OSError, StreamClosedError, TimeoutError) as error:
            raise SidecarUnavailable() from error
        stream.set_nodelay(True)
        self._upstream = HTTP1Connection(
            stream,
            True,
            HTTP1ConnectionParameters(
                no_keep_alive=True,
                chunk_size=CHUNK_SIZE,
                max_header_size=256 * 1024,
                # The response body streams through: no size limit applies.
                max_body_size=1 << 62,
                decompress=False,
            ),
        )
        headers = self._upstream_headers()
        headers["Connection"] = "close"
        method = self.request.method or "GET"
        has_body = "Content-Length" in headers or "chunked" in self.request.headers.get(
            "Transfer-Encoding", ""
        ).lower()
        if has_body and "Content-Length" not in headers and method not in ("POST", "PUT", "PATCH"):
            # tornado chunks a body of unknown length only for these three methods.
            headers["Transfer-Encoding"] = "chunked"
            self._chunk_manually = True
        start_line = httputil.RequestStartLine(method, self._upstream_path(), "HTTP/1.1")
        try:
            await self._upstream.write_headers(start_line, headers)
        except StreamClosedError as error:
            raise SidecarUnavailable() from error

    async def data_received(self, chunk: bytes) -> None:
        if self._upstream is None:
            return  # already answered (503): drop the body
        if self._chunk_manually:
            chunk = b"%x\r\n%b\r\n" % (len(chunk), chunk)
        try:
            await self._upstream.write(chunk)
        except StreamClosedError:
            pass  # the sidecar hung up; the response (or its absence) tells the rest

    async def _relay(self, *args: Any) -> None:
        upstream = self._upstream
        if upstream is None or self._finished:
            return
        response = _UpstreamResponse(self)
        try:
            if self._chunk_manually:
                await upstream.write(b"0\r\n\r\n")
            upstream.finish()
            await upstream.read_response(response)
        except (StreamClosedError, httputil.HTTPInputError, httputil.HTTPOutputError, OSError) as error:
            if not response.started:
                self.log.warning("Insighter sidecar dropped %s %s: %s", self.request.method, self.request.path, error)
                self._send_unavailable()
                return
            # Headers are out: the only honest signal left is to cut the connection.
            self.log.warning("Insighter sidecar response cut short: %s", error)
            self.request.connection.close()  # type: ignore[union-attr]
            return
        finally:
            self._close_upstream()
        if not self._finished:
            self.finish()

    get = post = put = patch = delete = head = options = _relay  # type: ignore[assignment]

    def relay_headers(self, start_line: httputil.ResponseStartLine, headers: httputil.HTTPHeaders) -> None:
        self.set_status(start_line.code, start_line.reason or "Unknown")
        if not self._jupyter_session and 200 <= start_line.code < 300:
            # An endpoint answering predictions is in use, though nobody is
            # logged in; a wrong key keeps no server from being culled.
            self.settings["api_last_activity"] = utcnow()
        drop = HOP_BY_HOP | _connection_tokens(headers)
        if start_line.code in (204, 304):
            drop = drop | {"content-length"}
        if "Content-Type" not in headers:
            self.clear_header("Content-Type")
        seen = set()
        policies = []
        for name, value in headers.get_all():
            lname = name.lower()
            if lname in drop or lname == "x-content-type-options":
                continue
            if lname == "content-security-policy":
                policies.append(value)
                continue
            if lname == "location":
                value = self._public_location(value)
            if lname in seen:
                self.add_header(name, value)
            else:
                seen.add(lname)
                self.set_header(name, value)
        # Jupyter's own policy (set by default) stays; every policy sent applies.
        for policy in policies:
            self.add_header("Content-Security-Policy", policy)
        if SANDBOX_POLICY not in policies:
            self.add_header("Content-Security-Policy", SANDBOX_POLICY)
        self.set_header("X-Content-Type-Options", "nosniff")

    def _public_location(self, location: str) -> str:
        """Redirects to the sidecar's own paths stay behind the proxy."""
        direct = f"http://{self.target.netloc}"
        if location.startswith(direct):
            location = location[len(direct) :] or "/"
        if location.startswith("/") and not location.startswith("//"):
            return self.target.prefix + location
        return location

    def _send_unavailable(self) -> None:
        self.clear()
        self.set_status(503)
        self.set_header("Content-Type", "application/json")
        self.set_header("Retry-After", "2")
        self.finish(json.dumps(UNAVAILABLE))

    def _close_upstream(self) -> None:
        upstream, self._upstream = self._upstream, None
        if upstream is not None and upstream.stream is not None:
            upstream.stream.close()

    def on_connection_close(self) -> None:
        # The browser went away: stop reading from the sidecar.
        self._close_upstream()
        super().on_connection_close()

    def on_finish(self) -> None:
        self._close_upstream()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors of the proxy itself are JSON, like any Jupyter API's."""
        self.set_header("Content-Type", "application/json")
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.log_message if isinstance(exc, web.HTTPError) and exc.log_message else reason
        code = {403: "forbidden", 404: "not_found"}.get(status_code, "proxy_error")
        self.finish(json.dumps({"error": {"code": code, "message": message}}))


class InsighterWebSocketProxyHandler(_ProxyMixin, WebSocketMixin, WebSocketHandler, JupyterHandler):
    """Relays a WebSocket on `<base_url>insighter/<path>` to the sidecar, both ways."""

    _upstream = None

    async def get(self, *args: Any, **kwargs: Any) -> None:
        self._authenticate()
        if not self.target.available:
            return self._refuse_unavailable()
        url = f"ws://{self.target.netloc}{self._upstream_path()}"
        protocols = [
            p.strip()
            for p in self.request.headers.get("Sec-WebSocket-Protocol", "").split(",")
            if p.strip()
        ]
        request = HTTPRequest(
            url, headers=self._upstream_headers(websocket=True), connect_timeout=CONNECT_TIMEOUT
        )
        try:
            self._upstream = await websocket_connect(request, subprotocols=protocols or None)
        except HTTPClientError as error:
            if error.code == 599 or error.response is None:
                return self._refuse_unavailable()
            # The sidecar refused the upgrade: pass its answer on.
            self.set_status(error.code)
            for name in ("Content-Type", "WWW-Authenticate"):
                if name in error.response.headers:
                    self.set_header(name, error.response.headers[name])
            self.finish(error.response.body or b"")
            return
        except (OSError, StreamClosedError, TimeoutError, WebSocketError) as error:
            self.log.warning("Insighter sidecar WebSocket %s failed: %s", self.request.path, error)
            return self._refuse_unavailable()
        await super().get(*args, **kwargs)
        if self.ws_connection is None:  # the handshake with the browser failed
            self._upstream.close()

    def _refuse_unavailable(self) -> None:
        self.set_status(503)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(UNAVAILABLE))

    def select_subprotocol(self, subprotocols: list) -> Optional[str]:
        return self._upstream.selected_subprotocol if self._upstream else None

    def open(self, *args: Any, **kwargs: Any) -> Optional[Awaitable[None]]:
        result = super().open(*args, **kwargs)
        # Relays sidecar -> browser until either side closes.
        IOLoop.current().spawn_callback(self._to_browser)
        return result

    async def _to_browser(self) -> None:
        upstream = self._upstream
        while upstream is not None:
            message = await upstream.read_message()
            if message is None:
                self.close(upstream.close_code, upstream.close_reason)
                return
            try:
                await self.write_message(message, binary=isinstance(message, bytes))
            except WebSocketClosedError:
                upstream.close()
                return

    async def on_message(self, message: Any) -> None:
        if self._upstream is None:
            return
        try:
            await self._upstream.write_message(message, binary=isinstance(message, bytes))
        except WebSocketClosedError:
            self.close(1011, "The Insighter service closed the connection.")

    def on_close(self) -> None:
        if self._upstream is not None:
            code = self.close_code if self.close_code and self.close_code not in (1005, 1006) else 1000
            self._upstream.close(code, self.close_reason)


class WebSocketUpgrade(PathMatches):
    """Matches the path only for WebSocket upgrade requests."""

    def match(self, request: httputil.HTTPServerRequest) -> Optional[dict]:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return None
        return super().match(request)


def proxy_rules(base_url: str, target: ProxyTarget) -> list:
    """Routing rules for the proxy: WebSocket upgrades first, then plain HTTP."""
    pattern = base_url.rstrip("/") + f"/{PROXY_PREFIX}/(.*)"
    kwargs = {"target": target}
    return [
        Rule(WebSocketUpgrade(pattern), InsighterWebSocketProxyHandler, kwargs),
        (pattern, InsighterProxyHandler, kwargs),
    ]


__all__: Tuple[str, ...] = (
    "PROXY_PREFIX",
    "ProxyTarget",
    "InsighterProxyHandler",
    "InsighterWebSocketProxyHandler",
    "proxy_rules",
    "UNAVAILABLE",
)
