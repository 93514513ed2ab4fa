"""The model as MLflow's sklearn flavor writes it under `model/`, and in
a format that executes nothing when loaded.

`MLmodel` (YAML, with the input and output signature as JSON strings, as
MLflow stores them), `model.pkl` (the fitted Pipeline, pickled),
`input_example.json` (a few rows in pandas' split orient) and
`requirements.txt`, so `mlflow.pyfunc.load_model("runs:/<id>/model")` loads
it in a notebook. Beside them, `insighter_model.json` (the pipeline's
parameters) and, for XGBoost, `xgboost_model.ubj` (XGBoost's own format),
named by an `insighter` flavor in MLmodel: what Insighter's serving loads,
so the pickle is never loaded by the sidecar. They are written only when
their numpy replay answers exactly as the pipeline on the training rows
(insighter_serve.safe_format); otherwise the model can still be served, in
a sandbox, from its pickle.
"""

from __future__ import annotations

import json
import pickle
import platform
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Tuple

import pandas as pd

EXAMPLE_ROWS = 5

# pandas dtype kinds → MLflow column types.
_COLUMN_TYPES = {"i": "long", "u": "long", "f": "double", "b": "boolean", "O": "string", "M": "datetime"}


def column_type(series: pd.Series) -> str:
    if series.dtype.kind == "i" and series.dtype.itemsize <= 4:
        return "integer"
    return _COLUMN_TYPES.get(series.dtype.kind, "string")


def signature(features: pd.DataFrame, task: str, classes) -> Dict[str, str]:
    inputs = [{"type": column_type(features[c]), "name": str(c), "required": True} for c in features.columns]
    if task == "classification":
        label = "string" if any(isinstance(c, str) for c in classes) else "long"
        outputs = [{"type": label, "required": True}]
    else:
        outputs = [{"type": "double", "required": True}]
    return {"inputs": json.dumps(inputs), "outputs": json.dumps(outputs), "params": None}


def input_example(features: pd.DataFrame) -> Dict[str, Any]:
    head = features.head(EXAMPLE_ROWS)
    return {"columns": [str(c) for c in head.columns], "data": json.loads(head.to_json(orient="values"))}


#: Rows of the training data the safe format is checked on (besides the variants of the first one).
CHECK_ROWS = 200


def safe_files(pipeline, features: pd.DataFrame, sig: Dict[str, str]) -> Tuple[Dict[str, bytes], str]:
    """The safe format's files (name → bytes) and what was done, in words;
    no files when the replay cannot stand in for the pipeline."""
    from insighter_serve import safe_format
    from insighter_serve.compiled import Unsupported
    from insighter_serve.inputs import read_signature

    signature = read_signature({"signature": sig})
    names = [spec.name for spec in signature]
    try:
        replay, document, files = safe_format.replay_of(pipeline, names)
    except Unsupported as err:
        return {}, f"not written in the safe format ({err}): it can only be served in a sandbox"
    rows = json.loads(features.head(CHECK_ROWS).to_json(orient="values"))
    problem, checked = safe_format.disagreement(pipeline, replay, signature, rows)
    if problem:
        return {}, f"not written in the safe format ({problem}): it can only be served in a sandbox"
    files = {safe_format.DOCUMENT_FILE: safe_format.document_bytes(document), **files}
    return files, f"safe format written ({', '.join(files)}), checked against the pipeline on {checked} rows"


def model_files(
    pipeline,
    features: pd.DataFrame,
    task: str,
    classes,
    run_id: str,
    metadata: Dict[str, Any],
    log: Callable[[str], None] = lambda message: None,
) -> Dict[str, bytes]:
    """File name (under `model/`) → its bytes."""
    import sklearn

    versions = _versions()
    sig = signature(features, task, classes)
    safe, note = safe_files(pipeline, features, sig)
    log(f"model: {note}")
    mlmodel = {
        "artifact_path": "model",
        "flavors": {
            "python_function": {
                "loader_module": "mlflow.sklearn",
                "model_path": "model.pkl",
                "predict_fn": "predict",
                "python_version": platform.python_version(),
                "env": {"virtualenv": "python_env.yaml"},
            },
            "sklearn": {
                "pickled_model": "model.pkl",
                "serialization_format": "pickle",
                "sklearn_version": sklearn.__version__,
                "code": None,
            },
        },
        "model_uuid": uuid.uuid4().hex,
        "run_id": run_id,
        "utc_time_created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f"),
        "signature": sig,
        "saved_input_example_info": {
            "artifact_path": "input_example.json",
            "type": "dataframe",
            "pandas_orient": "split",
        },
        "metadata": metadata,
    }
    if safe:
        from insighter_serve import safe_format

        mlmodel["flavors"][safe_format.FLAVOR] = {
            "document": safe_format.DOCUMENT_FILE,
            "format": f"{safe_format.FORMAT}/{safe_format.FORMAT_VERSION}",
            "files": sorted(safe),
        }
    import yaml

    requirements = "".join(f"{name}=={version}\n" for name, version in versions.items())
    python_env = yaml.safe_dump(
        {
            "python": platform.python_version(),
            "build_dependencies": ["pip"],
            "dependencies": ["-r requirements.txt"],
        },
        sort_keys=False,
    )
    return {
        "MLmodel": yaml.safe_dump(mlmodel, sort_keys=False).encode(),
        "model.pkl": pickle.dumps(pipeline, protocol=pickle.DEFAULT_PROTOCOL),
        "input_example.json": json.dumps(input_example(features)).encode(),
        "requirements.txt": requirements.encode(),
        "python_env.yaml": python_env.encode(),
        **safe,
    }


def _versions() -> Dict[str, str]:
    import numpy
    import sklearn

    found = {"scikit-learn": sklearn.__version__, "pandas": pd.__version__, "numpy": numpy.__version__}
    try:
        import xgboost

        found["xgboost"] = xgboost.__version__
    except ImportError:
        pass
    return found


def feature_columns(frame: pd.DataFrame, target: str) -> List[str]:
    return [c for c in frame.columns if c != target]
