"""The signed-in person's access token, handed from the browser to kernels.

The browser owns the Insighter session (supabase-js); kernels act as that
person through the `insighter` Python package. The page deposits the current
access token with `PUT <base_url>insighter-lab/kernel-session` (after
sign-in, on every refresh) and takes it back with `DELETE` (on sign-out). The
server keeps it in `<data dir>/run/kernel-session.json`, mode 0600, replaced
atomically, and tells kernels where it is (`INSIGHTER_KERNEL_SESSION`); they
read it on every request, so a refreshed token is picked up at once and no
token is ever written into a notebook or its environment.

Only the access token travels: it expires within the hour unless the page
refreshes it, and the refresh token stays in the browser, so a kernel can
never extend a session the person ended. Hosted Supabase Auth works the same
way: its access tokens are what the sidecar verifies in either mode.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path

from jupyter_server.base.handlers import APIHandler
from tornado import web

#: Path of the handler under the server's base URL.
KERNEL_SESSION_PATH = "/insighter-lab/kernel-session"
FILE_NAME = "kernel-session.json"

#: A JWT: three base64url parts; generous for user metadata, bounded for the disk.
_ACCESS_TOKEN = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
MAX_TOKEN_LENGTH = 16 * 1024


class KernelSessionFile:
    """The file kernels read the access token from."""

    def __init__(self, path: Path):
        self.path = path

    def write(self, access_token: str) -> None:
        """Replaces the file atomically; it is created 0600 and never exists wider."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file with mode 0600 before anything is written.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".kernel-session.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"access_token": access_token, "updated_at": int(time.time())}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def clear(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


class KernelSessionHandler(APIHandler):
    """`PUT {"access_token": …}` deposits the token, `DELETE` removes it.
    Jupyter's own authentication applies (token or cookie plus XSRF)."""

    def initialize(self, store: KernelSessionFile) -> None:
        self.store = store

    @web.authenticated
    def put(self) -> None:
        try:
            body = json.loads(self.request.body.decode("utf-8"))
        except (ValueError, UnicodeError):
            raise web.HTTPError(400, "The body must be JSON: {\"access_token\": \"…\"}.") from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if (
            not isinstance(token, str)
            or len(token) > MAX_TOKEN_LENGTH
            or not _ACCESS_TOKEN.match(token)
        ):
            # The value is never echoed: it may be a credential.
            raise web.HTTPError(400, "access_token must be the session's access token (a JWT).")
        self.store.write(token)
        self.set_status(204)
        self.finish()

    @web.authenticated
    def delete(self) -> None:
        self.store.clear()
        self.set_status(204)
        self.finish()


def kernel_session_handlers(store: KernelSessionFile) -> list:
    return [(KERNEL_SESSION_PATH, KernelSessionHandler, {"store": store})]
