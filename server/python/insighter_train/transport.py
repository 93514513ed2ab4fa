"""How the job's HTTP requests travel: TCP, or the sidecar's unix socket.

A tracking URI `http://` or `https://` is any MLflow server, reached as
MLflow's own clients do. `http+unix://<socket path, percent-encoded>/…` (the
spelling of requests-unixsocket) is Insighter's sidecar on a unix socket:
a sandboxed job has no network, and its sandbox holds that one socket of
the sidecar's (server/src/jobs/job-channel.ts).
"""

from __future__ import annotations

import functools
import http.client
import os
import socket
import urllib.parse
import urllib.request
from typing import Callable, Tuple

from insighter_serve.unix_socket import reachable

UNIX_SCHEME = "http+unix"

Open = Callable[..., object]


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, host: str, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, **_):  # noqa: SLF001
        super().__init__(host, timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # noqa: SLF001
            sock.settimeout(self.timeout)
        path, folder = reachable(self.socket_path)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        finally:
            if folder is not None:
                os.close(folder)
        self.sock = sock


class _UnixHandler(urllib.request.HTTPHandler):
    def __init__(self, socket_path: str):
        super().__init__()
        self.socket_path = socket_path

    def http_open(self, req):
        return self.do_open(functools.partial(_UnixConnection, self.socket_path), req)


def opener_for(url: str) -> Tuple[Open, str]:
    """(urlopen-like function, the URL to give it) for `url`."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != UNIX_SCHEME:
        return urllib.request.urlopen, url
    socket_path = urllib.parse.unquote(parts.netloc)
    # Only this socket: no proxy from the environment, no other scheme.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _UnixHandler(socket_path))
    return opener.open, urllib.parse.urlunsplit(("http", "localhost", parts.path, parts.query, parts.fragment))
