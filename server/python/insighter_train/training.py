"""Fitting: the target checked, the data split, a preprocessing + model
Pipeline fitted while validation metrics stream, and the final metrics.

The Pipeline takes the dataset's raw columns: numbers get their missing
values imputed with the median (and are standardised for logistic
regression); text columns get the most frequent value imputed, then one-hot
encoding (up to MAX_ONE_HOT distinct values; ordinal codes beyond, unknown
values as -1). It pickles with scikit-learn and XGBoost classes only, so
`mlflow.sklearn.load_model` and Insighter's serving load it as they are.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import pandas as pd

from . import EXIT_BAD_INPUT, TrainError
from .spec import TrainSpec

#: Text columns with more distinct values get ordinal codes instead of one-hot.
MAX_ONE_HOT = 30
#: An integer target with at most this many distinct values is taken as classes.
MAX_CLASSES_FOR_INTEGER_TARGET = 20
#: Random forests grow in this many steps, so their curve streams too.
FOREST_STEPS = 10

Log = Callable[[str], None]


@dataclass
class Fitted:
    pipeline: Any
    task: str
    classes: Optional[List[Any]]
    metrics: Dict[str, float]
    confusion: Optional[Dict[str, Any]]
    importance: List[Dict[str, Any]]
    train_rows: int
    validation_rows: int
    features: List[str] = field(default_factory=list)


class MetricStream:
    """Validation metrics per step, sent in small batches so curves grow live:
    at most every `interval_s` seconds (and at the end)."""

    def __init__(self, send: Callable[[List[Dict[str, Any]]], None], interval_s: float = 0.2):
        self.send = send
        self.interval_s = interval_s
        self.pending: List[Dict[str, Any]] = []
        self.last_sent = time.monotonic()

    def add(self, key: str, value: float, step: int) -> None:
        self.pending.append(
            {"key": key, "value": float(value), "timestamp": int(time.time() * 1000), "step": int(step)}
        )
        if time.monotonic() - self.last_sent >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self.send(batch)
        self.last_sent = time.monotonic()


def describe_values(values: pd.Series, limit: int = 3) -> str:
    return ", ".join(repr(v) for v in values.dropna().unique()[:limit].tolist())


def infer_task(y: pd.Series) -> str:
    if y.dtype.kind in "OSUb" or isinstance(y.dtype, pd.CategoricalDtype):
        return "classification"
    if y.dtype.kind in "iu":
        return "classification" if y.nunique(dropna=True) <= MAX_CLASSES_FOR_INTEGER_TARGET else "regression"
    if y.dtype.kind == "f":
        values = y.dropna()
        whole = bool(len(values)) and bool(np.all(np.mod(values, 1) == 0))
        if whole and values.nunique() <= MAX_CLASSES_FOR_INTEGER_TARGET:
            return "classification"
        return "regression"
    return "classification"


def check_target(frame: pd.DataFrame, spec: TrainSpec, log: Log) -> str:
    """The task to train, once the target column was found fit for it."""
    target = spec.target
    if target not in frame.columns:
        shown = ", ".join(str(c) for c in list(frame.columns)[:20])
        more = f" (and {frame.shape[1] - 20} more)" if frame.shape[1] > 20 else ""
        raise TrainError(
            f'The target column "{target}" is not in the dataset. Its columns are: {shown}{more}.',
            EXIT_BAD_INPUT,
        )
    if frame.shape[1] < 2:
        raise TrainError("The dataset has no column besides the target to learn from.", EXIT_BAD_INPUT)
    y = frame[target]
    task = spec.task or infer_task(y)
    if spec.task is None:
        log(f'task: {task} (inferred from the target column "{target}")')
    if task == "regression":
        if y.dtype.kind not in "iuf":
            raise TrainError(
                f'The target column "{target}" holds text (e.g. {describe_values(y)}): a regressor needs '
                "numbers. Train a classifier instead, or choose a numeric target.",
                EXIT_BAD_INPUT,
            )
    else:
        classes = y.dropna().unique()
        if len(classes) < 2:
            shown = f" ({describe_values(y)})" if len(classes) else ""
            raise TrainError(
                f'The target column "{target}" has only one value{shown}: a classifier needs at least two '
                "classes to tell apart.",
                EXIT_BAD_INPUT,
            )
    return task


def build_preprocessor(frame: pd.DataFrame, scale: bool):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric = [c for c in frame.columns if frame[c].dtype.kind in "iuf"]
    booleans = [c for c in frame.columns if frame[c].dtype.kind == "b"]
    text = [c for c in frame.columns if c not in numeric and c not in booleans]
    few = [c for c in text if frame[c].nunique(dropna=True) <= MAX_ONE_HOT]
    many = [c for c in text if c not in few]
    parts = []
    if numeric:
        steps = [("impute", SimpleImputer(strategy="median"))]
        if scale:
            steps.append(("scale", StandardScaler()))
        parts.append(("numeric", Pipeline(steps), numeric))
    if booleans:
        # Booleans are 0/1 numbers to every estimator.
        parts.append(("boolean", "passthrough", booleans))
    if few:
        parts.append(
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                    ]
                ),
                few,
            )
        )
    if many:
        parts.append(
            (
                "ordinal",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("encode", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)),
                    ]
                ),
                many,
            )
        )
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0)


def split(frame: pd.DataFrame, spec: TrainSpec, task: str, log: Log):
    from sklearn.model_selection import train_test_split

    target = spec.target
    missing = int(frame[target].isna().sum())
    if missing:
        log(f'dropped {missing} row(s) without a value in the target column "{target}"')
        frame = frame[frame[target].notna()]
    X = frame.drop(columns=[target])
    y = frame[target]
    test_size = spec.params["test_size"]
    n = len(frame)
    held_out = math.ceil(n * test_size)
    if n - held_out < 2 or held_out < 1:
        raise TrainError(
            f"Too few rows to train: {n} row(s) with a target value, and test_size {test_size} holds out "
            f"{held_out} of them for validation. Upload more rows or change test_size.",
            EXIT_BAD_INPUT,
        )
    stratify = None
    if task == "classification":
        counts = y.value_counts()
        if counts.min() >= 2 and held_out >= len(counts):
            stratify = y
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=test_size, random_state=spec.params["random_state"], stratify=stratify
    )
    if task == "classification":
        # A class too rare to stratify must still be learnt: its validation
        # rows go back to training.
        unseen = ~y_val.isin(y_train.unique())
        if unseen.any():
            X_train, y_train = pd.concat([X_train, X_val[unseen]]), pd.concat([y_train, y_val[unseen]])
            X_val, y_val = X_val[~unseen], y_val[~unseen]
            if len(y_val) == 0:
                raise TrainError(
                    "Too few rows per class to hold any out for validation: upload more rows.", EXIT_BAD_INPUT
                )
    return X_train, X_val, y_train, y_val


def fit(frame: pd.DataFrame, spec: TrainSpec, stream: MetricStream, log: Log, threads: int) -> Fitted:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import LabelEncoder

    task = check_target(frame, spec, log)
    X_train, X_val, y_train, y_val = split(frame, spec, task, log)
    log(f"rows: {len(X_train)} for training, {len(X_val)} for validation; {X_train.shape[1]} feature column(s)")
    pre = build_preprocessor(X_train, scale=spec.algorithm == "logistic_regression")
    Xt = pre.fit_transform(X_train)
    Xv = pre.transform(X_val)
    features = [str(n) for n in pre.get_feature_names_out()]

    encoder = None
    if task == "classification":
        encoder = LabelEncoder().fit(y_train)
        yt, yv = encoder.transform(y_train), encoder.transform(y_val)
    else:
        yt, yv = y_train.to_numpy(dtype=float), y_val.to_numpy(dtype=float)

    p = spec.params
    if spec.algorithm == "xgboost":
        model = _fit_xgboost(Xt, yt, Xv, yv, task, p, stream, log, threads, n_classes=len(encoder.classes_) if encoder is not None else 0)
        if encoder is not None:
            # XGBoost learns classes as 0..k-1; its legacy `_le` makes predict()
            # answer the original labels and classes_ name them.
            model._le = encoder
            model.classes_ = encoder.classes_
    elif spec.algorithm == "random_forest":
        model = _fit_forest(Xt, yt, Xv, yv, task, p, stream, log, threads, encoder)
    else:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=p["C"], max_iter=p["max_iter"], random_state=p["random_state"])
        model.fit(Xt, encoder.inverse_transform(yt))
        log(f"logistic regression converged in {int(np.max(model.n_iter_))} iteration(s)")
    pipeline = Pipeline([("preprocess", pre), ("model", model)])

    metrics, confusion = final_metrics(pipeline, X_val, y_val, task)
    return Fitted(
        pipeline=pipeline,
        task=task,
        classes=[_plain(c) for c in encoder.classes_] if encoder is not None else None,
        metrics=metrics,
        confusion=confusion,
        importance=importance(model, features),
        train_rows=len(X_train),
        validation_rows=len(X_val),
        features=features,
    )


def _fit_xgboost(Xt, yt, Xv, yv, task, p, stream: MetricStream, log: Log, threads: int, n_classes: int):
    import xgboost as xgb

    names = {"auc": "validation_auc", "logloss": "validation_logloss", "mlogloss": "validation_logloss", "rmse": "validation_rmse"}
    total = p["n_estimators"]
    every = max(1, total // 10)

    class StreamMetrics(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            values = {}
            for metric, history in (evals_log.get("validation_0") or {}).items():
                if metric in names and history:
                    value = history[-1]
                    value = value[0] if isinstance(value, tuple) else value
                    values[names[metric]] = value
                    stream.add(names[metric], value, epoch)
            if (epoch + 1) % every == 0 or epoch + 1 == total:
                shown = " ".join(f"{k}={v:.4f}" for k, v in values.items())
                log(f"round {epoch + 1}/{total}: {shown}")
            return False

    common = dict(
        n_estimators=total,
        max_depth=p["max_depth"],
        learning_rate=p["learning_rate"],
        subsample=p["subsample"],
        colsample_bytree=p["colsample_bytree"],
        min_child_weight=p["min_child_weight"],
        reg_lambda=p["reg_lambda"],
        random_state=p["random_state"],
        n_jobs=threads,
        tree_method="hist",
        callbacks=[StreamMetrics()],
    )
    if task == "classification":
        # AUC needs both classes in the validation rows.
        has_auc = len(np.unique(yv)) > 1
        eval_metric = (["auc"] if has_auc else []) + (["logloss"] if n_classes <= 2 else ["mlogloss"])
        model = xgb.XGBClassifier(eval_metric=eval_metric, **common)
    else:
        model = xgb.XGBRegressor(eval_metric=["rmse"], **common)
    model.fit(Xt, yt, eval_set=[(Xv, yv)], verbose=False)
    # The callback holds the tracking client: it must not be pickled with the
    # model. (An attribute, not set_params: that would reconfigure the booster.)
    model.callbacks = None
    return model


def _fit_forest(Xt, yt, Xv, yv, task, p, stream: MetricStream, log: Log, threads: int, encoder):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score

    total = p["n_estimators"]
    kind = RandomForestClassifier if task == "classification" else RandomForestRegressor
    model = kind(
        n_estimators=0,
        max_depth=p["max_depth"],
        min_samples_leaf=p["min_samples_leaf"],
        random_state=p["random_state"],
        n_jobs=threads,
        warm_start=True,
    )
    y_fit = encoder.inverse_transform(yt) if encoder is not None else yt
    y_val = encoder.inverse_transform(yv) if encoder is not None else yv
    sizes = sorted({max(1, math.ceil(total * k / FOREST_STEPS)) for k in range(1, FOREST_STEPS + 1)})
    for size in sizes:
        model.set_params(n_estimators=size)
        model.fit(Xt, y_fit)
        shown = []
        if task == "classification":
            proba = model.predict_proba(Xv)
            if len(np.unique(yv)) > 1:
                auc = _auc(y_val, proba, model.classes_, roc_auc_score)
                stream.add("validation_auc", auc, size)
                shown.append(f"validation_auc={auc:.4f}")
            loss = log_loss(y_val, proba, labels=model.classes_)
            stream.add("validation_logloss", loss, size)
            shown.append(f"validation_logloss={loss:.4f}")
        else:
            rmse = math.sqrt(mean_squared_error(yv, model.predict(Xv)))
            stream.add("validation_rmse", rmse, size)
            shown.append(f"validation_rmse={rmse:.4f}")
        log(f"trees {size}/{total}: {' '.join(shown)}")
    model.set_params(warm_start=False)
    return model


def _auc(y_true, proba, classes, roc_auc_score) -> float:
    if len(classes) == 2:
        return float(roc_auc_score(y_true == classes[1], proba[:, 1]))
    return float(roc_auc_score(y_true, proba, multi_class="ovr", average="macro", labels=classes))


def final_metrics(pipeline, X_val, y_val, task: str):
    from sklearn import metrics as m

    if task == "regression":
        predicted = pipeline.predict(X_val)
        truth = y_val.to_numpy(dtype=float)
        return (
            {
                "rmse": float(math.sqrt(m.mean_squared_error(truth, predicted))),
                "mae": float(m.mean_absolute_error(truth, predicted)),
                "r2": float(m.r2_score(truth, predicted)) if len(truth) > 1 else float("nan"),
            },
            None,
        )
    classes = pipeline.classes_
    proba = pipeline.predict_proba(X_val)
    predicted = classes[np.argmax(proba, axis=1)]
    truth = y_val.to_numpy()
    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    pos = {"pos_label": classes[1]} if binary else {}
    result = {
        "accuracy": float(m.accuracy_score(truth, predicted)),
        "precision": float(m.precision_score(truth, predicted, average=average, zero_division=0, **pos)),
        "recall": float(m.recall_score(truth, predicted, average=average, zero_division=0, **pos)),
        "f1": float(m.f1_score(truth, predicted, average=average, zero_division=0, **pos)),
        "log_loss": float(m.log_loss(truth, proba, labels=classes)),
    }
    if len(np.unique(truth)) > 1:
        result["auc"] = _auc(truth, proba, classes, m.roc_auc_score)
    matrix = m.confusion_matrix(truth, predicted, labels=classes)
    confusion = {
        "labels": [_plain(c) for c in classes],
        "matrix": matrix.tolist(),
        "rows": "actual",
        "columns": "predicted",
        "positive_label": _plain(classes[1]) if binary else None,
    }
    return result, confusion


def importance(model, features: List[str]) -> List[Dict[str, Any]]:
    if hasattr(model, "feature_importances_"):
        values = np.asarray(model.feature_importances_, dtype=float)
    elif hasattr(model, "coef_"):
        values = np.abs(np.asarray(model.coef_, dtype=float)).mean(axis=0)
    else:
        return []
    order = np.argsort(-values, kind="stable")
    return [{"feature": _short(features[i]), "importance": float(values[i])} for i in order]


def _short(name: str) -> str:
    # ColumnTransformer prefixes each output with its part's name.
    return name.split("__", 1)[1] if "__" in name else name


def _plain(value):
    return value.item() if hasattr(value, "item") else value
