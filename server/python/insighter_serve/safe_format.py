"""A fitted pipeline as files that execute nothing when loaded.

`model.pkl` is what MLflow's sklearn flavor loads, and unpickling it runs
whatever code the file names. Models fitted by Insighter's own training jobs
are therefore also written as:

- `insighter_model.json`: the pipeline's fitted parameters — imputer
  statistics, scaler means and scales, encoder categories, the column
  transformer's layout, and the final estimator's coefficients or trees —
  exactly what the numpy replay (compiled.py) computes with;
- `xgboost_model.ubj`, for XGBoost estimators: the booster in XGBoost's own
  UBJSON format, read back by XGBoost's own loader.

`export` writes that description from a fitted pipeline (scikit-learn
introspection, at training time or for a pickled model served in a sandbox);
`compiled.compile_document` builds the replay from it with numpy alone. The
training job writes the files only when the replay answers exactly as the
pipeline on its rows (`disagreement`), so serving a model from them is the
pipeline's own answers without ever loading its pickle.
"""

from __future__ import annotations

import json
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .compiled import Unsupported, is_missing_array
from .inputs import ColumnSpec, InputError, parse_json, signature_names

FORMAT = "insighter-pipeline"
FORMAT_VERSION = 1
DOCUMENT_FILE = "insighter_model.json"
XGBOOST_FILE = "xgboost_model.ubj"
#: The MLmodel flavor that names these files (MLflow ignores flavors it does not know).
FLAVOR = "insighter"

UNKNOWN_TEXT = "__insighter_unknown_category__"
UNKNOWN_NUMBER = -987654321


# -- arrays and numbers in JSON ------------------------------------------------


def encode_array(values) -> Dict[str, Any]:
    """A numpy array as `{"dtype", "values"}`: NaN as null, infinities as strings."""
    array = np.asarray(values)
    if array.dtype.kind == "O":
        return {"dtype": "object", "values": [_encode_scalar(v) for v in array.tolist()]}
    if array.dtype.kind not in "biuf":
        raise Unsupported(f"an array of {array.dtype}")
    return {"dtype": array.dtype.name, "values": _encode_nested(array.tolist())}


def _encode_scalar(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if value is None or isinstance(value, (bool, int, str)):
        return value
    raise Unsupported(f"a value of type {type(value).__name__}")


def _encode_nested(values):
    if isinstance(values, list):
        return [_encode_nested(v) for v in values]
    return _encode_scalar(values)




# -- export: a fitted pipeline → the document (+ files) ---------------------------


def export(model, names: Sequence[str]) -> Tuple[Dict[str, Any], Dict[str, bytes]]:
    """The document and the extra files (name → bytes) describing `model`;
    `Unsupported` for anything the replay does not know."""
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        steps = [step for _, step in model.steps]
        estimator, head = steps[-1], steps[:-1]
    else:
        estimator, head = model, []
    if estimator is None or (isinstance(estimator, str) and estimator == "passthrough"):
        raise Unsupported("the pipeline has no final estimator")
    files: Dict[str, bytes] = {}
    document: Dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_class": type(model).__name__,
        "description": " → ".join(type(step).__name__ for step in head + [estimator]),
        "classes": _classes(model),
        "estimator": _estimator(estimator, files),
    }
    if head:
        table = _table_step(head[0], names)
        rest = [_step(step) for step in head[1:]]
        document["preprocess"] = table if not rest else {"type": "table_pipeline", "first": table, "rest": rest}
    else:
        columns = [str(n) for n in getattr(estimator, "feature_names_in_", names)]
        missing = [n for n in columns if n not in names]
        if missing:
            raise Unsupported(f"the estimator needs columns the signature lacks: {missing[:3]}")
        document["preprocess"] = {"type": "columns", "columns": columns, "numeric": True, "step": {"type": "passthrough"}}
    return document, files


def document_bytes(document: Dict[str, Any]) -> bytes:
    return json.dumps(document, allow_nan=False, separators=(",", ":")).encode()


def _classes(model) -> Optional[List[Any]]:
    if not (hasattr(model, "predict_proba") and hasattr(model, "classes_")):
        return None
    return [_encode_scalar(c) for c in np.asarray(model.classes_).tolist()]


def _table_step(step, names: Sequence[str]) -> Dict[str, Any]:
    """The first step sees the request's columns (a DataFrame for scikit-learn)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    if isinstance(step, ColumnTransformer):
        return _column_transformer(step)
    if isinstance(step, Pipeline):
        inner = [s for _, s in step.steps]
        return {"type": "table_pipeline", "first": _table_step(inner[0], names), "rest": [_step(s) for s in inner[1:]]}
    columns = [str(n) for n in getattr(step, "feature_names_in_", [])]
    if not columns:
        raise Unsupported(f"{type(step).__name__} was not fitted on named columns")
    if not all(n in names for n in columns):
        raise Unsupported(f"{type(step).__name__} needs columns the signature lacks")
    return {"type": "columns", "columns": columns, "numeric": False, "step": _step(step)}


def _column_transformer(ct) -> Dict[str, Any]:
    if getattr(ct, "transformer_weights", None):
        raise Unsupported("ColumnTransformer with transformer_weights")
    config = getattr(ct, "_sklearn_output_config", {}) or {}
    if config.get("transform") not in (None, "default"):
        raise Unsupported("ColumnTransformer with set_output(transform='pandas')")
    if not hasattr(ct, "feature_names_in_") or not hasattr(ct, "_transformer_to_input_indices"):
        raise Unsupported("ColumnTransformer not fitted on a DataFrame")
    blocks = []
    for name, trans, _ in ct.transformers_:
        if isinstance(trans, str) and trans == "drop":
            continue
        indices = ct._transformer_to_input_indices.get(name, [])
        if len(indices) == 0:
            continue
        columns = [str(n) for n in ct.feature_names_in_[indices]]
        step = {"type": "passthrough"} if isinstance(trans, str) and trans == "passthrough" else _step(trans)
        blocks.append({"columns": columns, "step": step})
    return {"type": "column_transformer", "blocks": blocks, "sparse": bool(ct.sparse_output_)}


def _step(step) -> Dict[str, Any]:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

    if step is None or (isinstance(step, str) and step == "passthrough"):
        return {"type": "passthrough"}
    kind = type(step)
    if kind is Pipeline:
        return {"type": "pipeline", "steps": [_step(s) for _, s in step.steps]}
    if kind is SimpleImputer:
        return _imputer(step)
    if kind is StandardScaler:
        return {
            "type": "standard_scaler",
            "mean": encode_array(step.mean_) if step.with_mean else None,
            "scale": encode_array(step.scale_) if step.with_std else None,
        }
    if kind is MinMaxScaler:
        low, high = step.feature_range
        return {
            "type": "min_max_scaler",
            "scale": encode_array(step.scale_),
            "min": encode_array(step.min_),
            "clip": bool(step.clip),
            "range": [_encode_scalar(float(low)), _encode_scalar(float(high))],
        }
    if kind is OneHotEncoder:
        return _one_hot(step)
    if kind is OrdinalEncoder:
        return _ordinal(step)
    raise Unsupported(f"step {kind.__name__}")


def _imputer(step) -> Dict[str, Any]:
    if step.add_indicator:
        raise Unsupported("SimpleImputer(add_indicator=True)")
    missing = step.missing_values
    if not (isinstance(missing, float) and missing != missing):
        raise Unsupported("SimpleImputer with missing_values other than NaN")
    statistics = np.asarray(step.statistics_)
    keep = None
    if step.strategy != "constant" and not getattr(step, "keep_empty_features", False):
        invalid = is_missing_array(statistics)
        if invalid.any():
            keep = [int(i) for i in np.flatnonzero(~invalid)]
            statistics = statistics[keep]
    return {"type": "simple_imputer", "statistics": encode_array(statistics), "keep": keep}


def _one_hot(step) -> Dict[str, Any]:
    if getattr(step, "drop_idx_", None) is not None:
        raise Unsupported("OneHotEncoder(drop=...)")
    if getattr(step, "_infrequent_enabled", False):
        raise Unsupported("OneHotEncoder with infrequent categories")
    if step.handle_unknown not in ("ignore", "error"):
        raise Unsupported(f"OneHotEncoder(handle_unknown={step.handle_unknown!r})")
    return {
        "type": "one_hot",
        "categories": [encode_array(c) for c in step.categories_],
        "handle_unknown": step.handle_unknown,
        "dtype": np.dtype(step.dtype).name,
    }


def _ordinal(step) -> Dict[str, Any]:
    if step.handle_unknown not in ("error", "use_encoded_value"):
        raise Unsupported(f"OrdinalEncoder(handle_unknown={step.handle_unknown!r})")
    return {
        "type": "ordinal",
        "categories": [encode_array(c) for c in step.categories_],
        "handle_unknown": step.handle_unknown,
        "unknown_value": _encode_scalar(step.unknown_value),
        "encoded_missing_value": _encode_scalar(getattr(step, "encoded_missing_value", np.nan)),
        "dtype": np.dtype(step.dtype).name,
    }


def _estimator(estimator, files: Dict[str, bytes]) -> Dict[str, Any]:
    kind = type(estimator).__name__
    if kind in ("XGBClassifier", "XGBRegressor"):
        return _xgboost(estimator, files)
    if kind == "LogisticRegression":
        return _logistic(estimator)
    if kind in ("RandomForestClassifier", "RandomForestRegressor"):
        return _forest(estimator)
    raise Unsupported(f"estimator {kind}")


def _xgboost(estimator, files: Dict[str, bytes]) -> Dict[str, Any]:
    """As xgboost 1.7's XGBModel.predict / XGBClassifier.predict_proba call the booster."""
    if not estimator._can_use_inplace_predict() or estimator.objective == "multi:softmax":
        raise Unsupported(f"XGBoost with objective {estimator.objective!r}")
    booster = estimator.get_booster()
    files[XGBOOST_FILE] = bytes(booster.save_raw(raw_format="ubj"))
    start, end = estimator._get_iteration_range(None)
    classifier = type(estimator).__name__ == "XGBClassifier"
    return {
        "type": "xgboost",
        "file": XGBOOST_FILE,
        "n_classes": int(estimator.n_classes_) if classifier else None,
        "iteration_range": [int(start), int(end)],
        "missing": _encode_scalar(float(estimator.missing)),
    }


def _logistic(estimator) -> Dict[str, Any]:
    """As scikit-learn 1.2's LogisticRegression.predict_proba decides between one-vs-rest and softmax."""
    ovr = estimator.multi_class in ("ovr", "warn") or (
        estimator.multi_class == "auto"
        and (estimator.classes_.size <= 2 or estimator.solver in ("liblinear", "newton-cholesky"))
    )
    return {
        "type": "linear_classifier",
        "coef": encode_array(estimator.coef_),
        "intercept": encode_array(np.atleast_1d(estimator.intercept_)),
        "multinomial": not ovr,
    }


def _forest(estimator) -> Dict[str, Any]:
    """Each tree's nodes; for classifiers the leaf values as DecisionTreeClassifier.predict_proba normalises them."""
    classifier = type(estimator).__name__ == "RandomForestClassifier"
    if estimator.n_outputs_ != 1:
        raise Unsupported("a forest with several outputs")
    n_classes = int(estimator.n_classes_) if classifier else None
    trees = []
    for tree in estimator.estimators_:
        t = tree.tree_
        if classifier:
            value = np.array(t.value[:, 0, :n_classes], dtype=np.float64)
            normalizer = value.sum(axis=1)[:, np.newaxis]
            normalizer[normalizer == 0.0] = 1.0
            value /= normalizer
        else:
            value = np.array(t.value[:, 0, :1], dtype=np.float64)
        trees.append(
            {
                "left": encode_array(t.children_left.astype(np.int64)),
                "right": encode_array(t.children_right.astype(np.int64)),
                "feature": encode_array(t.feature.astype(np.int64)),
                "threshold": encode_array(t.threshold.astype(np.float64)),
                "value": encode_array(value),
                "max_depth": int(t.max_depth),
            }
        )
    return {"type": "forest", "kind": "classifier" if classifier else "regressor", "n_classes": n_classes, "trees": trees}


# -- checking a replay against the pipeline ------------------------------------


def check_rows(signature: List[ColumnSpec], rows: List[List[Any]]) -> List[List[List[Any]]]:
    """Row sets to compare on: the rows, the first row with each column
    missing in turn, and the first row with an unknown value in each column."""
    base = rows[0]
    variants: List[List[List[Any]]] = [rows]
    missing = []
    for j in range(len(signature)):
        row = list(base)
        row[j] = None
        missing.append(row)
    variants.append(missing)
    unknown = []
    for j, spec in enumerate(signature):
        row = list(base)
        if spec.type == "string":
            row[j] = UNKNOWN_TEXT
        elif spec.type in ("long", "integer", "double", "float"):
            row[j] = UNKNOWN_NUMBER
        else:
            continue
        unknown.append(row)
    variants.append(unknown)
    return [v for v in variants if v]


def disagreement(model, compiled, signature: List[ColumnSpec], rows: List[List[Any]]) -> Tuple[Optional[str], int]:
    """Why the replay cannot stand in for `model` (None when it answers like
    it on every row set of `check_rows`), and how many rows were compared."""
    checked = 0
    for variant in check_rows(signature, rows):
        problem = _compare(model, compiled, signature, variant)
        if problem == "raised":
            # One bad row fails a whole batch: look at each row alone.
            for row in variant:
                single = _compare(model, compiled, signature, [row])
                if single not in (None, "both raised"):
                    return (single if single != "raised" else "the pipeline and the fast path disagree on an error"), checked
        elif problem and problem != "both raised":
            return problem, checked
        checked += len(variant)
    return None, checked


def _compare(model, compiled, signature: List[ColumnSpec], rows: List[List[Any]]) -> Optional[str]:
    names = signature_names(signature)
    try:
        batch = parse_json({"dataframe_split": {"columns": names, "data": rows}}, signature)
    except InputError as err:
        return f"the rows do not fit the signature: {err}"
    method = "predict_proba" if compiled.is_classifier else "predict"
    reference = expected_error = None
    try:
        reference = np.asarray(getattr(model, method)(batch.frame()), dtype=np.float64)
    except Exception as err:  # noqa: BLE001 (any failure is compared)
        expected_error = err
    try:
        fast = np.asarray(getattr(compiled, method)(batch), dtype=np.float64)
    except Exception as err:  # noqa: BLE001
        if expected_error is not None:
            return "both raised" if len(rows) == 1 else "raised"
        return f"the fast path failed where the pipeline did not ({type(err).__name__}: {err})"
    if expected_error is not None:
        return "raised" if len(rows) > 1 else "the fast path answered where the pipeline failed"
    if reference.shape != fast.shape or not np.allclose(reference, fast, rtol=1e-7, atol=1e-10, equal_nan=True):
        return "its answers differ from the pipeline's"
    return None


def replay_of(model, names: Sequence[str]):
    """The numpy replay of a fitted model, through its document (what a served safe model runs)."""
    from .compiled import compile_document

    document, files = export(model, names)
    return compile_document(document, files.__getitem__), document, files

