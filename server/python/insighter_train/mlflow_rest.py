"""A small client of MLflow's REST API 2.0 (urllib only: no mlflow package).

Only what a training run needs: log-batch (split to MLflow's limits),
log-inputs, update, get, proxied artifact upload and model registration.
Connection failures and 429/5xx answers are retried with backoff; MLflow
errors become `MlflowError` with MLflow's error code and message. The token
is sent as a bearer header and never printed. The tracking URI is a real
MLflow server's (`http(s)://`) or the sidecar's socket (`http+unix://`,
transport.py).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterable, List, Optional

from .transport import opener_for

# MLflow's log-batch limits.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000

RETRY_STATUSES = {429, 502, 503, 504}
# About half a minute in all: long enough for the sidecar to restart under a
# running job (which then goes on), short enough to fail a job whose
# tracking server is really gone.
RETRY_DELAYS_S = (0.25, 0.5, 1, 2, 4, 8, 8, 8)


class MlflowError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{code}: {message}" if code else message)
        self.status = status
        self.code = code
        self.message = message


class MlflowClient:
    def __init__(self, tracking_uri: str, token: Optional[str] = None, timeout_s: float = 60):
        #: Where it is, for messages (a socket's URI names its path).
        self.where = tracking_uri.rstrip("/")
        self._open, self.base = opener_for(self.where)
        self.token = token
        self.timeout_s = timeout_s

    # -- transport ---------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Optional[Dict[str, str]] = None,
        data: Optional[bytes] = None,
        content_type: str = "application/json",
    ) -> Any:
        url = f"{self.base}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        payload = data if data is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        last_error: Optional[Exception] = None
        for delay in (0,) + RETRY_DELAYS_S:
            if delay:
                time.sleep(delay)
            req = urllib.request.Request(url, data=payload, headers=headers, method=method)
            try:
                with self._open(req, timeout=self.timeout_s) as res:
                    text = res.read().decode("utf-8")
                    return json.loads(text) if text else {}
            except urllib.error.HTTPError as err:
                if err.code in RETRY_STATUSES:
                    last_error = _mlflow_error(err)
                    continue
                raise _mlflow_error(err) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
                last_error = MlflowError(0, "", f"the tracking server at {self.where} could not be reached ({_reason(err)})")
                continue
        assert last_error is not None
        raise last_error

    def post(self, path: str, body: Dict[str, Any]) -> Any:
        return self.request("POST", f"/api/2.0/mlflow/{path}", body)

    def get(self, path: str, query: Dict[str, str]) -> Any:
        return self.request("GET", f"/api/2.0/mlflow/{path}", query=query)

    # -- runs --------------------------------------------------------------

    def get_run(self, run_id: str) -> Dict[str, Any]:
        return self.get("runs/get", {"run_id": run_id})["run"]

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[Dict[str, Any]] = (),
        params: Iterable[Dict[str, str]] = (),
        tags: Iterable[Dict[str, str]] = (),
    ) -> None:
        """Split into batches within MLflow's limits, params and tags first."""
        metrics, params, tags = list(metrics), list(params), list(tags)
        while params or tags:
            p, params = params[:MAX_PARAMS_PER_BATCH], params[MAX_PARAMS_PER_BATCH:]
            t, tags = tags[:MAX_TAGS_PER_BATCH], tags[MAX_TAGS_PER_BATCH:]
            self.post("runs/log-batch", {"run_id": run_id, "params": p, "tags": t})
        for start in range(0, len(metrics), MAX_METRICS_PER_BATCH):
            chunk = [_wire_metric(m) for m in metrics[start : start + MAX_METRICS_PER_BATCH]]
            self.post("runs/log-batch", {"run_id": run_id, "metrics": chunk})

    def log_inputs(self, run_id: str, datasets: List[Dict[str, Any]]) -> None:
        self.post("runs/log-inputs", {"run_id": run_id, "datasets": datasets})

    def update_run(self, run_id: str, status: str, end_time: Optional[int] = None) -> None:
        body: Dict[str, Any] = {"run_id": run_id, "run_uuid": run_id, "status": status}
        if end_time is not None:
            body["end_time"] = end_time
        self.post("runs/update", body)

    # -- artifacts ---------------------------------------------------------

    def upload_artifact(self, artifact_uri: str, path: str, data: bytes, content_type: str) -> None:
        """PUT through the tracking server's proxied artifact API (`mlflow-artifacts:` URIs)."""
        prefix = "mlflow-artifacts:"
        if not artifact_uri.startswith(prefix):
            raise MlflowError(
                0,
                "",
                f"the run's artifacts go to {artifact_uri!r}, which this job can only reach through a tracking "
                "server that proxies artifacts (mlflow-artifacts:)",
            )
        root = urllib.parse.urlparse(artifact_uri).path.lstrip("/")
        quoted = urllib.parse.quote(f"{root}/{path}")
        self.request(
            "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{quoted}", data=data, content_type=content_type
        )

    # -- registry ----------------------------------------------------------

    def ensure_registered_model(self, name: str) -> None:
        try:
            self.post("registered-models/create", {"name": name})
        except MlflowError as err:
            if err.code != "RESOURCE_ALREADY_EXISTS":
                raise

    def create_model_version(self, name: str, source: str, run_id: str) -> Dict[str, Any]:
        return self.post("model-versions/create", {"name": name, "source": source, "run_id": run_id})[
            "model_version"
        ]


def _wire_metric(metric: Dict[str, Any]) -> Dict[str, Any]:
    value = metric["value"]
    # MLflow's JSON spells the non-finite values as strings.
    if value != value:
        value = "NaN"
    elif value in (float("inf"), float("-inf")):
        value = "Infinity" if value > 0 else "-Infinity"
    return {**metric, "value": value}


def _mlflow_error(err: urllib.error.HTTPError) -> MlflowError:
    try:
        body = json.loads(err.read().decode("utf-8") or "{}")
    except ValueError:
        body = {}
    if isinstance(body.get("error"), dict):
        # Insighter's own routes answer {error: {code, message}}.
        body = body["error"]
    code = str(body.get("error_code") or body.get("code") or "")
    message = str(body.get("message") or err.reason or f"HTTP {err.code}")
    return MlflowError(err.code, code, message)


def _reason(err: Exception) -> str:
    reason = getattr(err, "reason", None) or err
    return str(reason)
