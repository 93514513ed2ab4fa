"""Experiment tracking from Python, the way MLflow's fluent API does it.

    import insighter
    with insighter.tracking.start_run(run_name="xgb depth 4") as run:
        insighter.tracking.log_params({"max_depth": 4, "eta": 0.1})
        for step, auc in enumerate(aucs):
            insighter.tracking.log_metric("validation_auc", auc, step=step)
        insighter.tracking.log_artifact("confusion.png", artifact_path="plots")
    run.info.run_id, run.info.status                 # '…', 'FINISHED'

Runs go to the project's experiment, named after its slug and created on
first use: the project whose folder (`projects/<slug>/`) the notebook is in,
or `project=` (id, slug or name). The Studio's Experiments section and Tool
Monitor show them while they run. The block ends its run FINISHED, FAILED when
it raises (the error is kept as the run's `insighter.error` tag) and KILLED
when interrupted. Logging with no active run starts one, as MLflow does; it
lasts until `end_run()` or until Python exits.

Every call is MLflow's REST API 2.0 (`/api/2.0/mlflow/…`, artifacts through
`/api/2.0/mlflow-artifacts/…`), which Insighter's service speaks. So
`set_tracking_uri("http://mlflow.example:5000")` sends the same calls to a
real MLflow server instead (its token from MLFLOW_TRACKING_TOKEN). The
MLFLOW_TRACKING_URI variable is deliberately not read: Insighter Lab may
carry it for its own service, and runs logged past Insighter would not show
live in the Studio.
"""

from __future__ import annotations

import atexit
import getpass
import math
import mimetypes
import os
import posixpath
import sys
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

from ._client import (
    ALL_PROJECTS,
    PROJECTS_FOLDER,
    ApiError,
    InsighterError,
    NotFound,
    ServiceUnreachable,
    Session,
    _error_of,
    _project_names,
    session,
)

__all__ = [
    "ActiveRun",
    "RunInfo",
    "active_run",
    "end_run",
    "get_tracking_uri",
    "log_artifact",
    "log_artifacts",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]

MLFLOW = "api/2.0/mlflow"
ARTIFACTS = "api/2.0/mlflow-artifacts/artifacts"
#: The tag that ties an experiment to its Insighter project.
PROJECT_TAG = "insighter.project_id"
#: Why a run failed, as Insighter's service itself records it for jobs.
ERROR_TAG = "insighter.error"
TOKEN_VARIABLE = "MLFLOW_TRACKING_TOKEN"

# MLflow's log-batch limits.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_TAG_VALUE = 5000

RUN_END_STATUSES = ("FINISHED", "FAILED", "KILLED")


@dataclass
class RunInfo:
    """A run's `info`, as MLflow's `runs/get` has it."""

    run_id: str
    experiment_id: str
    run_name: str
    status: str
    artifact_uri: str
    start_time: Optional[int] = None
    end_time: Optional[int] = None
    user_id: Optional[str] = None

    @property
    def run_uuid(self) -> str:
        return self.run_id

    @classmethod
    def from_json(cls, info: Mapping[str, Any]) -> "RunInfo":
        return cls(
            run_id=str(info.get("run_id") or info.get("run_uuid")),
            experiment_id=str(info.get("experiment_id")),
            run_name=str(info.get("run_name") or ""),
            status=str(info.get("status") or "RUNNING"),
            artifact_uri=str(info.get("artifact_uri") or ""),
            start_time=info.get("start_time"),
            end_time=info.get("end_time"),
            user_id=info.get("user_id"),
        )


class ActiveRun:
    """A run being logged to. As a context manager it ends with its block:
    FINISHED, FAILED if the block raised, KILLED if it was interrupted."""

    def __init__(self, info: RunInfo, client: Session):
        self.info = info
        self._client = client

    def __enter__(self) -> "ActiveRun":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            _end(self, "FINISHED")
        elif issubclass(exc_type, KeyboardInterrupt):
            _end(self, "KILLED")
        else:
            _end(self, "FAILED", error=f"{exc_type.__name__}: {exc}")
        return False

    def __repr__(self) -> str:
        return (
            f"<insighter.tracking.ActiveRun {self.info.run_name!r} run_id={self.info.run_id} "
            f"experiment_id={self.info.experiment_id} status={self.info.status}>"
        )


class _MlflowServer(Session):
    """A tracking server other than Insighter's (`set_tracking_uri`): MLflow's
    own token variable, an optional credential, MLflow's refusals as they are."""

    def __init__(self, uri: str):
        super().__init__(uri, access_token=os.environ.get(TOKEN_VARIABLE, "").strip() or None)

    def access_token(self) -> str:
        return self._fixed_token or ""

    def _refusal(self, status: int, body: bytes, token: str) -> InsighterError:
        if status in (401, 403):
            message = _error_of(body).get("message") or f"HTTP {status}"
            return ApiError(
                f"The tracking server at {self.api_url} refused the request: {message} "
                f"(its token goes in {TOKEN_VARIABLE}).",
                status,
            )
        return super()._refusal(status, body, token)

    def _unreachable(self, error: BaseException) -> ServiceUnreachable:
        reason = getattr(error, "reason", None) or error
        return ServiceUnreachable(f"The tracking server at {self.api_url} could not be reached ({reason}).")


# What this Python process is logging to; MLflow's fluent API keeps the same.
_active_runs: List[ActiveRun] = []
_tracking_uri: Optional[str] = None
_experiment_id: Optional[str] = None


def set_tracking_uri(uri: Optional[str]) -> None:
    """Log to the MLflow server at `uri` from now on; None: back to Insighter."""
    global _tracking_uri, _experiment_id
    _tracking_uri = uri.rstrip("/") if uri else None
    _experiment_id = None


def get_tracking_uri() -> str:
    return _tracking_uri or session().api_url


def _server() -> Session:
    return _MlflowServer(_tracking_uri) if _tracking_uri else session()


def set_experiment(
    experiment_name: Optional[str] = None,
    experiment_id: Optional[str] = None,
    project: Optional[str] = None,
) -> Dict[str, Any]:
    """Log the next runs to this experiment (created, in the project, if there
    is none by that name) instead of the project's own. Returns the experiment."""
    global _experiment_id
    client = _server()
    if experiment_id is None and experiment_name is None:
        raise InsighterError("set_experiment needs an experiment_name or an experiment_id.")
    chosen = _experiment_for(client, project, experiment_name, experiment_id)
    experiment = client.request("GET", f"{MLFLOW}/experiments/get", params={"experiment_id": chosen})
    _experiment_id = chosen
    return experiment["experiment"]


def start_run(
    run_name: Optional[str] = None,
    tags: Optional[Mapping[str, Any]] = None,
    *,
    project: Optional[str] = None,
    experiment_id: Optional[str] = None,
    experiment_name: Optional[str] = None,
    description: Optional[str] = None,
    nested: bool = False,
) -> ActiveRun:
    """Starts a run in the project's experiment and makes it the active run;
    `with start_run(…) as run:` ends it when the block does."""
    if _active_runs and not nested:
        current = _active_runs[-1].info
        raise InsighterError(
            f"Run {current.run_name!r} ({current.run_id}) is still active. End it with "
            "insighter.tracking.end_run(), or pass nested=True to start a child run of it."
        )
    client = _server()
    chosen = _experiment_for(
        client, project, experiment_name, experiment_id if experiment_id is not None else _experiment_id
    )
    all_tags = _source_tags(client)
    all_tags.update({str(key): str(value) for key, value in (tags or {}).items()})
    if nested and _active_runs:
        all_tags["mlflow.parentRunId"] = _active_runs[-1].info.run_id
    if description:
        all_tags["mlflow.note.content"] = description
    body: Dict[str, Any] = {
        "experiment_id": chosen,
        "start_time": _now_ms(),
        "tags": [{"key": key, "value": value} for key, value in all_tags.items()],
    }
    if run_name:
        body["run_name"] = str(run_name)
    answer = client.request("POST", f"{MLFLOW}/runs/create", body=body)
    run = ActiveRun(RunInfo.from_json(answer["run"]["info"]), client)
    _active_runs.append(run)
    return run


def active_run() -> Optional[ActiveRun]:
    """The run being logged to, or None."""
    return _active_runs[-1] if _active_runs else None


def end_run(status: str = "FINISHED") -> None:
    """Ends the active run (nothing to do without one)."""
    if _active_runs:
        _end(_active_runs[-1], status)


def log_param(key: str, value: Any) -> Any:
    """A parameter of the active run; MLflow keeps the first value of a key."""
    run = _logging_run()
    run._client.request(
        "POST", f"{MLFLOW}/runs/log-parameter", body={"run_id": run.info.run_id, "key": str(key), "value": str(value)}
    )
    return value


def log_params(params: Mapping[str, Any]) -> None:
    run = _logging_run()
    entries = [{"key": str(key), "value": str(value)} for key, value in params.items()]
    for start in range(0, len(entries), MAX_PARAMS_PER_BATCH):
        _log_batch(run, params=entries[start : start + MAX_PARAMS_PER_BATCH])


def log_metric(key: str, value: float, step: Optional[int] = None, timestamp: Optional[int] = None) -> None:
    """Appends a value to the metric's history at `step` (0 without one)."""
    run = _logging_run()
    run._client.request(
        "POST", f"{MLFLOW}/runs/log-metric", body={"run_id": run.info.run_id, **_metric(key, value, step, timestamp)}
    )


def log_metrics(metrics: Mapping[str, float], step: Optional[int] = None, timestamp: Optional[int] = None) -> None:
    run = _logging_run()
    when = _now_ms() if timestamp is None else timestamp
    entries = [_metric(key, value, step, when) for key, value in metrics.items()]
    for start in range(0, len(entries), MAX_METRICS_PER_BATCH):
        _log_batch(run, metrics=entries[start : start + MAX_METRICS_PER_BATCH])


def set_tag(key: str, value: Any) -> None:
    run = _logging_run()
    run._client.request(
        "POST", f"{MLFLOW}/runs/set-tag", body={"run_id": run.info.run_id, "key": str(key), "value": str(value)}
    )


def set_tags(tags: Mapping[str, Any]) -> None:
    run = _logging_run()
    entries = [{"key": str(key), "value": str(value)} for key, value in tags.items()]
    for start in range(0, len(entries), MAX_TAGS_PER_BATCH):
        _log_batch(run, tags=entries[start : start + MAX_TAGS_PER_BATCH])


def log_artifact(local_path: str, artifact_path: Optional[str] = None) -> None:
    """Uploads a file to the active run's artifacts (under `artifact_path`),
    streamed through the tracking server's proxied artifact API."""
    run = _logging_run()
    if os.path.isdir(local_path):
        raise InsighterError(f"{local_path!r} is a folder: log_artifacts() uploads a folder's files.")
    if not os.path.isfile(local_path):
        raise InsighterError(
            f"There is no file {local_path!r} to log as an artifact (relative paths start in {os.getcwd()})."
        )
    destination = _artifact_location(run, artifact_path, os.path.basename(local_path))
    content_type = mimetypes.guess_type(local_path)[0] or "application/octet-stream"
    with open(local_path, "rb") as file:
        headers = {"Content-Type": content_type, "Content-Length": str(os.fstat(file.fileno()).st_size)}
        with run._client.open("PUT", f"{ARTIFACTS}/{destination}", body=file, headers=headers) as response:
            response.read()


def log_artifacts(local_dir: str, artifact_path: Optional[str] = None) -> None:
    """Uploads every file under `local_dir`, keeping its subfolders."""
    if not os.path.isdir(local_dir):
        raise InsighterError(f"There is no folder {local_dir!r} to log as artifacts.")
    for folder, _, files in os.walk(local_dir):
        relative = os.path.relpath(folder, local_dir)
        parts = [p for p in (artifact_path, None if relative == "." else relative.replace(os.sep, "/")) if p]
        for name in sorted(files):
            log_artifact(os.path.join(folder, name), "/".join(parts) or None)


# --- the rest is how ------------------------------------------------------------


def _logging_run() -> ActiveRun:
    # As in MLflow, logging outside a run starts one.
    return _active_runs[-1] if _active_runs else start_run()


def _end(run: ActiveRun, status: str, error: Optional[str] = None) -> None:
    status = str(status).upper()
    if status not in RUN_END_STATUSES:
        raise InsighterError(f"A run ends {', '.join(RUN_END_STATUSES)}, not {status!r}.")
    if run not in _active_runs:
        return  # ended inside its own block already
    # Child runs still open end with their parent; each leaves the stack before
    # its request, so a refused one is not ended twice.
    while _active_runs:
        ending = _active_runs.pop()
        _finish(ending, status, error)
        if ending is run:
            break


def _finish(run: ActiveRun, status: str, error: Optional[str]) -> None:
    if error is not None:
        run._client.request(
            "POST",
            f"{MLFLOW}/runs/set-tag",
            body={"run_id": run.info.run_id, "key": ERROR_TAG, "value": error[:MAX_TAG_VALUE]},
        )
    answer = run._client.request(
        "POST",
        f"{MLFLOW}/runs/update",
        body={"run_id": run.info.run_id, "run_uuid": run.info.run_id, "status": status, "end_time": _now_ms()},
    )
    info = (answer or {}).get("run_info") or {}
    run.info.status = str(info.get("status") or status)
    run.info.end_time = info.get("end_time")


def _experiment_for(
    client: Session, project: Optional[str], experiment_name: Optional[str], experiment_id: Optional[str]
) -> str:
    if experiment_id is not None:
        return str(experiment_id)
    if isinstance(client, _MlflowServer):
        # Another server knows no Insighter projects: the folder's slug names the experiment.
        name = experiment_name or (project if project not in (None, ALL_PROJECTS) else None)
        name = name or client.notebook_project_slug()
        if not name:
            raise InsighterError(
                f"No experiment to log to: this notebook is not in a project's folder "
                f"({PROJECTS_FOLDER}/<slug>/). Pass experiment_name= or call set_experiment()."
            )
        return _get_or_create_experiment(client, name, [])
    if project == ALL_PROJECTS:
        raise InsighterError("A run belongs to one project: pass project= its id, slug or name.")
    chosen = client.project(project)
    if chosen is None:
        raise InsighterError(
            f"This notebook is not in a project's folder ({PROJECTS_FOLDER}/<slug>/), so there is no "
            f"project experiment to log runs to. Open it from your project's folder, or pass project= "
            f"one of: {_project_names(client.projects())}."
        )
    tags = [{"key": PROJECT_TAG, "value": str(chosen["id"])}]
    return _get_or_create_experiment(client, experiment_name or str(chosen["slug"]), tags)


def _get_or_create_experiment(client: Session, name: str, tags: List[Dict[str, str]]) -> str:
    for attempt in range(2):
        try:
            answer = client.request("GET", f"{MLFLOW}/experiments/get-by-name", params={"experiment_name": name})
            return str(answer["experiment"]["experiment_id"])
        except NotFound:
            pass
        try:
            answer = client.request("POST", f"{MLFLOW}/experiments/create", body={"name": name, "tags": tags})
            return str(answer["experiment_id"])
        except ApiError as error:
            # Created by someone else meanwhile: read theirs.
            if error.code != "RESOURCE_ALREADY_EXISTS" or attempt:
                raise
    raise AssertionError("unreachable")


def _source_tags(client: Session) -> Dict[str, str]:
    in_notebook = "ipykernel" in sys.modules
    tags = {"mlflow.source.type": "NOTEBOOK" if in_notebook else "LOCAL"}
    script = sys.argv[0] if sys.argv else ""
    source = os.path.abspath(script) if not in_notebook and os.path.isfile(script) else ""
    session_name = os.environ.get("JPY_SESSION_NAME", "")
    # JupyterLab 4 starts a kernel under a placeholder path (<folder>/<uuid>) and
    # renames the session later, so only a real file name says which notebook.
    if session_name.endswith((".ipynb", ".py")):
        source = session_name
    if source:
        tags["mlflow.source.name"] = source
    if isinstance(client, _MlflowServer):
        # Insighter's service records the signed-in person itself.
        tags["mlflow.user"] = getpass.getuser()
    return tags


def _metric(key: str, value: Any, step: Optional[int], timestamp: Optional[int]) -> Dict[str, Any]:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InsighterError(f"Metric {key!r} must be a number, not {value!r}.") from None
    # MLflow's JSON spells the non-finite values as strings.
    wire: Any = number
    if math.isnan(number):
        wire = "NaN"
    elif math.isinf(number):
        wire = "Infinity" if number > 0 else "-Infinity"
    return {
        "key": str(key),
        "value": wire,
        "timestamp": _now_ms() if timestamp is None else int(timestamp),
        "step": 0 if step is None else int(step),
    }


def _log_batch(run: ActiveRun, metrics=(), params=(), tags=()) -> None:
    run._client.request(
        "POST",
        f"{MLFLOW}/runs/log-batch",
        body={"run_id": run.info.run_id, "metrics": list(metrics), "params": list(params), "tags": list(tags)},
    )


def _artifact_location(run: ActiveRun, artifact_path: Optional[str], name: str) -> str:
    """The URL path (quoted) of an artifact under the run's `mlflow-artifacts:` root."""
    uri = run.info.artifact_uri
    if not uri.startswith("mlflow-artifacts:"):
        raise InsighterError(
            f"Run {run.info.run_id} keeps its artifacts at {uri!r}, which only a tracking server that "
            "proxies artifacts (mlflow-artifacts:, e.g. `mlflow server --serve-artifacts`) can reach."
        )
    root = urllib.parse.urlsplit(uri).path.strip("/")
    relative = (artifact_path or "").replace("\\", "/").strip("/")
    if any(part in ("..", ".") for part in relative.split("/")):
        raise InsighterError(f"artifact_path {artifact_path!r} must stay inside the run's artifacts.")
    return urllib.parse.quote(posixpath.join(root, relative, name) if relative else posixpath.join(root, name))


def _now_ms() -> int:
    return int(time.time() * 1000)


@atexit.register
def _end_open_runs() -> None:
    # As MLflow does: runs still open when Python exits (a kernel shut down) end FINISHED.
    while _active_runs:
        try:
            _end(_active_runs[0], "FINISHED")
        except Exception:  # noqa: BLE001 (exiting: nothing left to tell)
            _active_runs.clear()
