"""The two endpoints JupyterLab 4's frontend expects and jupyter_server 1.23 lacks.

- `GET /api/me`: the current user's identity and permissions. Without it the
  frontend's `user.ready` never resolves.
- `/api/events/subscribe`: the event bus WebSocket. Without it the frontend
  retries forever and logs errors. This one accepts and stays quiet: the
  server emits no events.

On jupyter_server 2 or later both exist already and these are not installed.
"""

from __future__ import annotations

import getpass
import json
from typing import Any, Dict, List

from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.zmqhandlers import WebSocketMixin
from tornado import web
from tornado.websocket import WebSocketHandler


def _initials(name: str) -> str:
    parts = [p for p in name.replace(".", " ").replace("_", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def identity_of(user: Any) -> Dict[str, Any]:
    """JupyterLab's identity model for jupyter_server 1.x's user (a str, or a dict under JupyterHub)."""
    if isinstance(user, dict):
        username = str(user.get("name") or user.get("username") or "user")
        display = str(user.get("display_name") or user.get("name") or username)
    else:
        # Standalone, the user is an opaque id from the login cookie; the
        # account running the server is the person in front of it.
        username = str(user)
        try:
            display = getpass.getuser()
        except Exception:  # no user name in this environment
            display = "user"
    return {
        "username": username,
        "name": display,
        "display_name": display,
        "initials": _initials(display),
        "avatar_url": None,
        "color": None,
    }


class MeHandler(APIHandler):
    @web.authenticated
    def get(self) -> None:
        raw = self.get_argument("permissions", "")
        try:
            requested = json.loads(raw) if raw else {}
        except ValueError:
            raise web.HTTPError(400, f"permissions should be a JSON dict of lists, not {raw!r}") from None
        if not isinstance(requested, dict):
            raise web.HTTPError(400, "permissions should be a JSON dict of lists")
        # jupyter_server 1.x has no authorizer for per-action checks: an
        # authenticated user may do everything it asks about.
        permissions: Dict[str, List[str]] = {
            str(resource): [str(a) for a in actions] if isinstance(actions, list) else []
            for resource, actions in requested.items()
        }
        self.finish(json.dumps({"identity": identity_of(self.current_user), "permissions": permissions}))


class EventsSubscribeHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """Accepts the event bus WebSocket; this server has no events to send."""

    async def get(self, *args: Any, **kwargs: Any) -> None:
        if not self.current_user:
            raise web.HTTPError(403)
        await super().get(*args, **kwargs)

    def on_message(self, message: Any) -> None:
        pass


def shim_handlers() -> list:
    """Handlers for the endpoints this jupyter_server lacks (paths under the base URL)."""
    import jupyter_server

    if int(jupyter_server.__version__.split(".")[0]) >= 2:
        return []
    return [
        (r"/api/me", MeHandler),
        (r"/api/events/subscribe", EventsSubscribeHandler),
    ]
