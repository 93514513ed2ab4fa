"""How Python code reaches Insighter as the signed-in user: the sidecar's URL,
the user's access token, HTTP (urllib only: kernels have no third-party HTTP
client) and the project a notebook belongs to. Every helper module
(`insighter.datasets`, `insighter.tracking`) goes through `Session`.

Insighter Lab sets, for every kernel and terminal it starts:

    INSIGHTER_API_URL         the sidecar, directly on loopback
    INSIGHTER_KERNEL_SESSION  a JSON file (mode 0600) with the access token of
                              the person signed in to Insighter Lab in the
                              browser; the browser replaces it whenever the
                              token is refreshed and removes it on sign-out
    INSIGHTER_NOTEBOOK_ROOT   the notebooks' root folder (projects/<slug>/ is in it)

Elsewhere (a script, CI) set INSIGHTER_API_URL and INSIGHTER_ACCESS_TOKEN.
The token is read again for every request and never printed: not in
messages, not in `repr`, not in tracebacks.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

API_URL_VARIABLE = "INSIGHTER_API_URL"
KERNEL_SESSION_VARIABLE = "INSIGHTER_KERNEL_SESSION"
ACCESS_TOKEN_VARIABLE = "INSIGHTER_ACCESS_TOKEN"
NOTEBOOK_ROOT_VARIABLE = "INSIGHTER_NOTEBOOK_ROOT"

#: Where project folders live under the notebooks' root (extensions/projects/src/folders.ts).
PROJECTS_FOLDER = "projects"
#: `project=ALL_PROJECTS`: every project the user can read, wherever the notebook is.
ALL_PROJECTS = "*"

#: Seconds without a byte from the sidecar before a request fails.
DEFAULT_TIMEOUT = 60.0

SIGN_IN_HINT = (
    "Sign in to Insighter in Insighter Lab (the Insighter home in your browser), "
    "then run this again."
)


class InsighterError(Exception):
    """Anything the Insighter helpers cannot do; the message says what to do about it."""


class NotSignedIn(InsighterError):
    """Nobody is signed in to Insighter Lab, or the session expired or ended."""


class ServiceUnreachable(InsighterError):
    """The Insighter service (the sidecar) did not answer."""


class NotFound(InsighterError, LookupError):
    """No dataset, project or version by that name (the message lists what there is)."""


class ApiError(InsighterError):
    """The Insighter service refused a request; `status` and `code` are its answer."""

    def __init__(self, message: str, status: int, code: str = ""):
        super().__init__(message)
        self.status = status
        self.code = code


def _token_claims(token: str) -> Dict[str, Any]:
    """The JWT's payload, unverified: only to say who and until when in messages."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (IndexError, ValueError, UnicodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _error_of(body: bytes) -> Dict[str, str]:
    """The sidecar's `{error: {code, message}}` or MLflow's `{error_code, message}`
    (its tracking routes answer that way), or {} for anything else."""
    try:
        answer = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeError):
        return {}
    if not isinstance(answer, dict):
        return {}
    error = answer.get("error")
    if isinstance(error, dict):
        return {"code": str(error.get("code") or ""), "message": str(error.get("message") or "")}
    if answer.get("error_code"):
        return {"code": str(answer["error_code"]), "message": str(answer.get("message") or "")}
    return {}


class Session:
    """The signed-in person's connection to Insighter, from the environment
    Insighter Lab gives its kernels. Cheap to make; holds no token itself."""

    def __init__(
        self,
        api_url: str,
        session_file: Optional[str] = None,
        access_token: Optional[str] = None,
        notebook_root: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT,
    ):
        self.api_url = api_url.rstrip("/")
        self.session_file = Path(session_file) if session_file else None
        self._fixed_token = access_token or None
        self.notebook_root = Path(notebook_root) if notebook_root else None
        self.timeout = timeout

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Session":
        env = os.environ if env is None else env
        api_url = env.get(API_URL_VARIABLE, "").strip()
        if not api_url:
            raise InsighterError(
                f"This Python is not running in Insighter Lab: {API_URL_VARIABLE} is not set. "
                "Open the notebook in Insighter Lab, or, for a script, set "
                f"{API_URL_VARIABLE} and {ACCESS_TOKEN_VARIABLE}."
            )
        return cls(
            api_url,
            session_file=env.get(KERNEL_SESSION_VARIABLE, "").strip() or None,
            access_token=env.get(ACCESS_TOKEN_VARIABLE, "").strip() or None,
            notebook_root=env.get(NOTEBOOK_ROOT_VARIABLE, "").strip() or None,
        )

    def __repr__(self) -> str:
        return f"<insighter.Session {self.api_url}>"

    # --- who ---------------------------------------------------------------

    def access_token(self) -> str:
        """The current access token (read again on every call: the browser refreshes it)."""
        if self._fixed_token:
            return self._fixed_token
        if self.session_file is None:
            raise NotSignedIn(
                f"No Insighter credentials: neither {KERNEL_SESSION_VARIABLE} nor "
                f"{ACCESS_TOKEN_VARIABLE} is set. {SIGN_IN_HINT}"
            )
        try:
            with open(self.session_file, encoding="utf-8") as f:
                stored = json.load(f)
        except FileNotFoundError:
            raise NotSignedIn(
                "Not signed in to Insighter: this notebook works as the person signed in to "
                f"Insighter Lab, and nobody is. {SIGN_IN_HINT}"
            ) from None
        except (OSError, ValueError) as error:
            raise NotSignedIn(
                f"Insighter's kernel session file could not be read ({type(error).__name__}). "
                f"{SIGN_IN_HINT}"
            ) from None
        token = stored.get("access_token") if isinstance(stored, dict) else None
        if not isinstance(token, str) or not token:
            raise NotSignedIn(f"Not signed in to Insighter. {SIGN_IN_HINT}")
        return token

    @property
    def user(self) -> Dict[str, Any]:
        """Who the kernel works as: `{id, email}` (from the token, not a request)."""
        claims = _token_claims(self.access_token())
        return {"id": claims.get("sub"), "email": claims.get("email")}

    # --- HTTP --------------------------------------------------------------

    def open(
        self,
        method: str,
        path: str,
        params: Optional[Mapping[str, Any]] = None,
        body: Optional[Any] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> http.client.HTTPResponse:
        """Sends a request and returns the response unread, for streaming; close it.
        A dict or list `body` goes as JSON. Failures raise `InsighterError`s."""
        url = self.api_url + "/" + path.lstrip("/")
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            url += "?" + urllib.parse.urlencode(query)
        token = self.access_token()
        request_headers = {"Accept": "application/json", **(headers or {})}
        data = None
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                data = bytes(body)
            elif hasattr(body, "read"):
                # A file goes as it is read, not held whole (the caller sets Content-Length).
                data = body
            else:
                data = json.dumps(body).encode("utf-8")
                request_headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(url, data=data, method=method.upper(), headers=request_headers)
        # Added apart from the headers above, so a failure's message can never echo it.
        if token:
            request.add_unredirected_header("Authorization", f"Bearer {token}")
        try:
            return self._opener().open(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            with error:
                raise self._refusal(error.code, error.read(), token) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            raise self._unreachable(error) from None

    def _opener(self) -> urllib.request.OpenerDirector:
        # The sidecar on loopback is never reached through an HTTP(S)_PROXY a
        # kernel may have inherited: the token would travel through it.
        host = urllib.parse.urlsplit(self.api_url).hostname or ""
        if host in ("127.0.0.1", "::1", "localhost"):
            return urllib.request.build_opener(urllib.request.ProxyHandler({}))
        return urllib.request.build_opener()

    def request(
        self,
        method: str,
        path: str,
        params: Optional[Mapping[str, Any]] = None,
        body: Optional[Any] = None,
    ) -> Any:
        """Sends a request and returns its JSON answer (None when it has no body)."""
        with self.open(method, path, params=params, body=body) as response:
            try:
                raw = response.read()
            except (OSError, http.client.HTTPException) as error:
                raise self._unreachable(error) from None
        return json.loads(raw.decode("utf-8")) if raw.strip() else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def _refusal(self, status: int, body: bytes, token: str) -> InsighterError:
        error = _error_of(body)
        message = error.get("message") or f"HTTP {status}"
        if status == 401:
            expires = _token_claims(token).get("exp")
            when = ""
            if isinstance(expires, (int, float)) and expires <= time.time():
                when = f" (it expired at {time.strftime('%H:%M', time.localtime(expires))})"
            return NotSignedIn(
                f"Insighter did not accept this kernel's session{when}: {message} "
                "Insighter Lab renews the session while it is open in your browser; open or "
                f"reload it, sign in if asked, then run this again."
            )
        if status == 404:
            return NotFound(message)
        if status in (502, 503, 504) and not error:
            return ServiceUnreachable(
                f"Insighter's service at {self.api_url} is not available (HTTP {status}); "
                "it restarts on its own, try again in a few seconds."
            )
        return ApiError(message, status, error.get("code", ""))

    def _unreachable(self, error: BaseException) -> ServiceUnreachable:
        reason = getattr(error, "reason", None) or error
        if isinstance(reason, socket.timeout):
            what = f"did not answer within {self.timeout:.0f} s"
        else:
            what = f"could not be reached ({reason})"
        return ServiceUnreachable(
            f"Insighter's service at {self.api_url} {what}. Insighter Lab restarts it when it "
            "stops: try again in a few seconds; if Insighter Lab itself was stopped, start it "
            "again and re-run this."
        )

    # --- where -------------------------------------------------------------

    def notebook_project_slug(self, cwd: Optional[str] = None) -> Optional[str]:
        """The slug of the project folder (`projects/<slug>/`) the working directory
        is in — a kernel's is its notebook's folder — or None outside one."""
        here = Path(cwd or os.getcwd()).resolve()
        if self.notebook_root is not None:
            try:
                parts = here.relative_to(self.notebook_root.resolve()).parts
            except ValueError:
                return None
            return parts[1] if len(parts) >= 2 and parts[0] == PROJECTS_FOLDER else None
        # Without the root, the innermost `projects/<slug>` on the way up.
        for folder in (here, *here.parents):
            if folder.parent.name == PROJECTS_FOLDER:
                return folder.name
        return None

    def projects(self) -> List[Dict[str, Any]]:
        """Every project the user can read, as `GET /api/v1/projects` lists them."""
        answer = self.get("api/v1/projects")
        return list(answer.get("projects", [])) if isinstance(answer, dict) else []

    def project(self, project: Optional[str] = None) -> Optional[Dict[str, Any]]:
        """The project `project` names (id, slug or name), else the one whose folder
        the notebook is in; None for every project (`ALL_PROJECTS`, or outside a
        project folder)."""
        if project == ALL_PROJECTS:
            return None
        slug = None
        if project is None:
            slug = self.notebook_project_slug()
            if slug is None:
                return None
        readable = self.projects()
        if slug is not None:
            for candidate in readable:
                if candidate.get("slug") == slug:
                    return candidate
            raise NotFound(
                f"This notebook is in {PROJECTS_FOLDER}/{slug}/, but you have no project "
                f"with the slug {slug!r}. Pass project= one of: {_project_names(readable)}, "
                f"or project={ALL_PROJECTS!r} for all of them."
            )
        wanted = str(project)
        for key in ("id", "slug"):
            for candidate in readable:
                if candidate.get(key) == wanted:
                    return candidate
        named = [p for p in readable if str(p.get("name", "")).casefold() == wanted.casefold()]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise InsighterError(
                f"Several of your projects are named {wanted!r}: pass its slug instead, one of "
                f"{', '.join(repr(p.get('slug')) for p in named)}."
            )
        raise NotFound(f"You have no project {wanted!r}. Your projects: {_project_names(readable)}.")


def _project_names(projects: List[Dict[str, Any]]) -> str:
    if not projects:
        return "(none yet)"
    return ", ".join(f"{p.get('slug')!r} ({p.get('name')})" for p in projects)


def session() -> Session:
    """The signed-in person's connection to Insighter, from this kernel's environment."""
    return Session.from_env()
