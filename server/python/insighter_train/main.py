"""The job from start to end: read the request, fetch the data, fit, log, register."""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Optional

from . import (
    ERROR_PREFIX,
    EXIT_BAD_INPUT,
    EXIT_CRASH,
    EXIT_OK,
    EXIT_OUT_OF_MEMORY,
    EXIT_TRACKING,
    TrainError,
)
from .mlflow_rest import MlflowClient, MlflowError

#: MLflow limits a dataset digest to 36 characters: the first 32 of the sha256
#: (the whole hash is in the input's source).
DIGEST_CHARS = 32


def log(message: str) -> None:
    print(message, flush=True)


def now_ms() -> int:
    return int(time.time() * 1000)


def main() -> int:
    client: Optional[MlflowClient] = None
    run_id = os.environ.get("MLFLOW_RUN_ID", "")
    try:
        from .spec import read_spec

        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri or not run_id:
            raise TrainError("MLFLOW_TRACKING_URI and MLFLOW_RUN_ID must be set: the job has nowhere to log.", EXIT_BAD_INPUT)
        # First, so that a bad request is recorded on the run too.
        client = MlflowClient(uri, os.environ.get("MLFLOW_TRACKING_TOKEN") or None)
        spec = read_spec(os.environ.get("INSIGHTER_TRAIN_SPEC"))
        train(client, run_id, spec)
        return EXIT_OK
    except TrainError as err:
        return fail(client, run_id, err.message, err.exit_code)
    except MlflowError as err:
        # The tracking server is what failed: do not lean on it to record that.
        return fail(None, run_id, f"The tracking server refused or failed: {err}", EXIT_TRACKING)
    except MemoryError:
        return fail(
            client,
            run_id,
            "The training ran out of memory: use a smaller dataset or fewer/shallower trees, or raise the job's memory limit.",
            EXIT_OUT_OF_MEMORY,
        )
    except Exception as err:  # noqa: BLE001 (anything else is a crash, reported as one)
        traceback.print_exc()
        return fail(client, run_id, f"The training crashed: {type(err).__name__}: {first_line(err)}", EXIT_CRASH)


def first_line(err: Exception, limit: int = 500) -> str:
    """What an exception says, without the native stack traces some libraries append."""
    text = str(err).strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def fail(client: Optional[MlflowClient], run_id: str, message: str, code: int) -> int:
    print(f"{ERROR_PREFIX}{message}", file=sys.stderr, flush=True)
    if client and run_id:
        try:
            client.log_batch(run_id, tags=[{"key": "insighter.error", "value": message[:5000]}])
            client.update_run(run_id, "FAILED", now_ms())
        except Exception as err:  # noqa: BLE001 (the job's own failure is what matters)
            print(f"insighter_train: could not mark the run failed: {err}", file=sys.stderr, flush=True)
    return code


def train(client: MlflowClient, run_id: str, spec) -> None:
    # pandas, scikit-learn and XGBoost load only once the run and the data
    # are there: the log says what happens meanwhile.
    from . import dataset as data

    run = client.get_run(run_id)
    artifact_uri = run["info"]["artifact_uri"]
    log(f"run {run_id} ({spec.label}, target {spec.target!r})")
    params = {"algorithm": spec.algorithm, "target": spec.target, "dataset_id": spec.dataset.id}
    if spec.dataset.version is not None:
        params["dataset_version"] = str(spec.dataset.version)
    params.update({k: "None" if v is None else str(v) for k, v in spec.params.items()})
    client.log_batch(run_id, params=[{"key": k, "value": v} for k, v in params.items()])

    scratch = data.scratch_dir()
    try:
        url = os.environ.get("INSIGHTER_DATASET_URL")
        if not url:
            raise TrainError("INSIGHTER_DATASET_URL is not set: the job does not know where its dataset is.")
        path, sha256, size = data.download(url, os.environ.get("MLFLOW_TRACKING_TOKEN") or None, scratch)
        log(f"dataset downloaded: {size} bytes")
        frame = data.read_csv(path)
        os.remove(path)
    finally:
        data.remove(scratch)
    version = f" v{spec.dataset.version}" if spec.dataset.version is not None else ""
    log(f"dataset {spec.dataset.name}{version}: {frame.shape[0]} rows, {frame.shape[1]} columns")
    from .model_files import column_type

    full_hash = spec.dataset.sha256 or sha256
    client.log_inputs(
        run_id,
        [
            {
                "tags": [{"key": "mlflow.data.context", "value": "training"}],
                "dataset": {
                    "name": spec.dataset.name,
                    "digest": full_hash[:DIGEST_CHARS],
                    "source_type": "insighter",
                    "source": json.dumps(
                        {"dataset_id": spec.dataset.id, "version": spec.dataset.version, "sha256": full_hash}
                    ),
                    "schema": json.dumps(
                        {
                            "mlflow_colspec": [
                                {"type": column_type(frame[c]), "name": str(c), "required": True} for c in frame.columns
                            ]
                        }
                    ),
                    "profile": json.dumps({"num_rows": int(frame.shape[0]), "num_elements": int(frame.size)}),
                },
            }
        ],
    )

    from .model_files import model_files
    from .training import MetricStream, fit


    stream = MetricStream(lambda batch: client.log_batch(run_id, metrics=batch))
    threads = max(1, int(os.environ.get("OMP_NUM_THREADS") or 1))
    fitted = fit(frame, spec, stream, log, threads)
    stream.flush()
    client.log_batch(
        run_id,
        params=[
            {"key": "task", "value": fitted.task},
            {"key": "train_rows", "value": str(fitted.train_rows)},
            {"key": "validation_rows", "value": str(fitted.validation_rows)},
        ],
    )
    stamp = now_ms()
    client.log_batch(
        run_id, metrics=[{"key": k, "value": v, "timestamp": stamp, "step": 0} for k, v in fitted.metrics.items()]
    )
    log("validation: " + " ".join(f"{k}={v:.4f}" for k, v in fitted.metrics.items()))

    def upload(path: str, body: bytes, content_type: str) -> None:
        client.upload_artifact(artifact_uri, path, body, content_type)

    if fitted.confusion:
        upload("confusion_matrix.json", json.dumps(fitted.confusion).encode(), "application/json")
    upload(
        "feature_importance.json",
        json.dumps({"features": fitted.importance}).encode(),
        "application/json",
    )
    features = frame.drop(columns=[spec.target])
    files = model_files(
        fitted.pipeline,
        features,
        fitted.task,
        fitted.classes,
        run_id,
        {
            "insighter": {
                "algorithm": spec.algorithm,
                "task": fitted.task,
                "target": spec.target,
                "classes": fitted.classes,
                "dataset": {"id": spec.dataset.id, "version": spec.dataset.version, "sha256": full_hash},
            }
        },
        log,
    )
    for name, body in files.items():
        upload(f"model/{name}", body, "application/octet-stream" if name.endswith((".pkl", ".ubj")) else "text/plain")
    log(f"model saved: model/ ({len(files['model.pkl'])} bytes pickled)")

    if spec.model_name:
        client.ensure_registered_model(spec.model_name)
        version = client.create_model_version(spec.model_name, f"runs:/{run_id}/model", run_id)
        log(f"registered model {spec.model_name!r} version {version['version']}")
    client.update_run(run_id, "FINISHED", now_ms())
    log("done")
