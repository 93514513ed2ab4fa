"""A fitted scikit-learn Pipeline, replayed with numpy from its parameters.

`pipeline.predict_proba(frame)` on one row takes ≈ 3 ms here, and nearly all
of it is scikit-learn's per-call machinery (ColumnTransformer picking
columns out of the DataFrame, `check_array` in every step, joblib dispatch);
the arithmetic itself is microseconds. For steps whose fitted state is a few
arrays — SimpleImputer, StandardScaler, MinMaxScaler, OneHotEncoder,
OrdinalEncoder, passthrough and drop, nested Pipelines and a
ColumnTransformer — and for the estimators Insighter's jobs fit (XGBoost
through its booster, logistic regression, random forests), this module does
that arithmetic in the order and with the dtypes scikit-learn uses
(scikit-learn 1.2's transform and predict code).

It reads the pipeline's parameters from their JSON description
(safe_format.py), never from the pipeline object, and imports neither
scikit-learn nor pickle: a model served from `insighter_model.json` runs
this module alone. A document it does not know raises `Unsupported`.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from .inputs import Batch

Transform = Callable[[np.ndarray], np.ndarray]
FileReader = Callable[[str], bytes]


class Unsupported(Exception):
    """A step or document this module does not replay; the message says which."""


class CompiledModel:
    """`transform(batch)` gives what the pipeline's last step receives."""

    def __init__(self, transform: Callable[[Batch], object], estimator, description: str, classes: Optional[List[Any]]):
        self.transform = transform
        self.estimator = estimator
        self.description = description
        #: The labels, in the order of predict_proba's columns; None for a regressor.
        self.classes = classes

    @property
    def is_classifier(self) -> bool:
        return self.classes is not None

    def predict_proba(self, batch: Batch):
        return self.estimator.predict_proba(self.transform(batch))

    def predict(self, batch: Batch):
        return self.estimator.predict(self.transform(batch))


def compile_document(document: Dict[str, Any], read: FileReader) -> CompiledModel:
    """The replay a document describes; `read(name)` gives a file beside it
    (the XGBoost booster)."""
    if document.get("format") != "insighter-pipeline" or document.get("format_version") != 1:
        raise Unsupported(f"a document of format {document.get('format')!r} {document.get('format_version')!r}")
    classes = document.get("classes")
    if classes is not None:
        classes = [decode_scalar(c) for c in classes]
    estimator = _estimator(document["estimator"], read, classes)
    table = _table_step(document["preprocess"])
    return CompiledModel(table, estimator, str(document.get("description", "")), classes)


# -- JSON arrays -------------------------------------------------------------------


def decode_array(encoded: Dict[str, Any]) -> np.ndarray:
    """`{"dtype", "values"}` (safe_format.encode_array) → the numpy array."""
    dtype = encoded["dtype"]
    values = encoded["values"]
    if dtype == "object":
        out = np.empty(len(values), dtype=object)
        out[:] = [decode_scalar(v) for v in values]
        return out
    return np.array(_decode_nested(values), dtype=np.dtype(dtype))


def decode_scalar(value):
    if value is None:
        return math.nan
    if value == "Infinity":
        return math.inf
    if value == "-Infinity":
        return -math.inf
    return value


def _decode_nested(values):
    if isinstance(values, list):
        return [_decode_nested(v) for v in values]
    return decode_scalar(values)


# -- preprocessing -------------------------------------------------------------------


def _table_step(step: Dict[str, Any]) -> Callable[[Batch], object]:
    """The first step sees the request's columns (a DataFrame for scikit-learn)."""
    kind = step["type"]
    if kind == "column_transformer":
        return _column_transformer(step)
    if kind == "table_pipeline":
        first = _table_step(step["first"])
        rest = [_step(s) for s in step["rest"]]

        def run(batch: Batch):
            X = first(batch)
            for s in rest:
                X = s(X)
            return X

        return run
    if kind == "columns":
        names = list(step["columns"])
        array_step = _step(step["step"])
        if step.get("numeric"):
            # A bare estimator fitted on a DataFrame: its columns, in its order, as numbers.
            return lambda batch: array_step(_numeric_block(batch, names))
        return lambda batch: array_step(_block(batch, names))
    raise Unsupported(f"a first step of type {kind!r}")


def _column_transformer(step: Dict[str, Any]) -> Callable[[Batch], object]:
    blocks = [(list(block["columns"]), _step(block["step"])) for block in step["blocks"]]
    sparse_output = bool(step.get("sparse"))

    def run(batch: Batch):
        outputs = [s(_block(batch, names)) for names, s in blocks]
        if not outputs:
            return np.zeros((batch.n_rows, 0))
        X = np.hstack(outputs)
        if sparse_output:
            from scipy import sparse

            return sparse.csr_matrix(X)
        return X

    return run


def _step(step: Dict[str, Any]) -> Transform:
    kind = step["type"]
    if kind == "passthrough":
        return lambda X: X
    if kind == "pipeline":
        inner = [_step(s) for s in step["steps"]]

        def run(X):
            for s in inner:
                X = s(X)
            return X

        return run
    if kind == "simple_imputer":
        return _imputer(step)
    if kind == "standard_scaler":
        return _standard_scaler(step)
    if kind == "min_max_scaler":
        return _min_max_scaler(step)
    if kind == "one_hot":
        return _one_hot(step)
    if kind == "ordinal":
        return _ordinal(step)
    raise Unsupported(f"step {kind!r}")


def _imputer(step: Dict[str, Any]) -> Transform:
    statistics = decode_array(step["statistics"])
    keep = np.asarray(step["keep"], dtype=np.intp) if step.get("keep") is not None else None

    def run(X: np.ndarray) -> np.ndarray:
        X = X.copy()
        mask = np.isnan(X) if X.dtype.kind == "f" else (X != X)
        if keep is not None:
            X, mask = X[:, keep], mask[:, keep]
        if mask.any():
            rows, cols = np.nonzero(mask)
            X[rows, cols] = statistics[cols]
        return X

    return run


def _standard_scaler(step: Dict[str, Any]) -> Transform:
    mean = decode_array(step["mean"]) if step.get("mean") is not None else None
    scale = decode_array(step["scale"]) if step.get("scale") is not None else None

    def run(X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64)
        if mean is not None:
            X -= mean
        if scale is not None:
            X /= scale
        return X

    return run


def _min_max_scaler(step: Dict[str, Any]) -> Transform:
    scale, minimum, clip = decode_array(step["scale"]), decode_array(step["min"]), bool(step["clip"])
    low, high = (decode_scalar(v) for v in step["range"])

    def run(X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64)
        X *= scale
        X += minimum
        if clip:
            np.clip(X, low, high, out=X)
        return X

    return run


def _one_hot(step: Dict[str, Any]) -> Transform:
    categories = [decode_array(c) for c in step["categories"]]
    encoders = [_CategoryIndex(c) for c in categories]
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in categories])]).astype(np.intp)
    total = int(offsets[-1])
    error = step["handle_unknown"] == "error"
    dtype = np.dtype(step["dtype"])

    def run(X: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        out = np.zeros((n, total), dtype=dtype)
        rows = np.arange(n)
        for j, encoder in enumerate(encoders):
            index, valid = encoder.encode(X[:, j])
            if not valid.all():
                if error:
                    raise ValueError(
                        f"Found unknown categories {encoder.unknown(X[:, j], valid)} in column {j} during transform"
                    )
                out[rows[valid], offsets[j] + index[valid]] = 1
            else:
                out[rows, offsets[j] + index] = 1
        return out

    return run


def _ordinal(step: Dict[str, Any]) -> Transform:
    encoders = [_CategoryIndex(decode_array(c)) for c in step["categories"]]
    use_encoded = step["handle_unknown"] == "use_encoded_value"
    unknown_value = decode_scalar(step["unknown_value"])
    missing_value = decode_scalar(step["encoded_missing_value"])
    dtype = np.dtype(step["dtype"])

    def run(X: np.ndarray) -> np.ndarray:
        out = np.empty((X.shape[0], len(encoders)), dtype=dtype)
        for j, encoder in enumerate(encoders):
            index, valid = encoder.encode(X[:, j])
            if not valid.all() and not use_encoded:
                raise ValueError(
                    f"Found unknown categories {encoder.unknown(X[:, j], valid)} in column {j} during transform"
                )
            column = index.astype(dtype)
            if encoder.missing_index is not None:
                column[valid & (index == encoder.missing_index)] = missing_value
            if use_encoded:
                column[~valid] = unknown_value
            out[:, j] = column
        return out

    return run


class _CategoryIndex:
    """Value → position in a fitted `categories_` entry; a missing value (None
    or NaN) is a category only if one was seen in training (then it is last)."""

    def __init__(self, categories: np.ndarray):
        self.categories = categories
        missing = is_missing_array(categories)
        self.missing_index: Optional[int] = int(np.flatnonzero(missing)[0]) if missing.any() else None
        self.numeric = categories.dtype.kind in "iuf"
        if self.numeric:
            self.sorted = categories[~missing].astype(np.float64)
        else:
            self.table: Dict[object, int] = {c: i for i, c in enumerate(categories) if not missing[i]}

    def encode(self, values: np.ndarray):
        """(index, valid): the position of each value; `valid` False for unknown ones."""
        n = len(values)
        if self.numeric and values.dtype.kind == "O":
            # A numeric category column that arrived beside text columns.
            values = values.astype(np.float64)
        if self.numeric:
            x = values.astype(np.float64, copy=False)
            nan = np.isnan(x)
            index = np.searchsorted(self.sorted, x)
            clipped = np.minimum(index, max(len(self.sorted) - 1, 0))
            valid = (index < len(self.sorted)) & (self.sorted[clipped] == x) if len(self.sorted) else np.zeros(n, bool)
            index = np.where(valid, index, 0)
            if nan.any() and self.missing_index is not None:
                index[nan] = self.missing_index
                valid = valid | nan
            return index.astype(np.intp), valid
        index = np.zeros(n, dtype=np.intp)
        valid = np.ones(n, dtype=bool)
        table = self.table
        for i, value in enumerate(values):
            position = table.get(value) if not _is_missing(value) else self.missing_index
            if position is None:
                valid[i] = False
            else:
                index[i] = position
        return index, valid

    def unknown(self, values: np.ndarray, valid: np.ndarray) -> List[object]:
        return sorted({str(v) for v in values[~valid]})


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def is_missing_array(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind in "iub":
        return np.zeros(values.shape, dtype=bool)
    return np.array([_is_missing(v) for v in values], dtype=bool)


def _block(batch: Batch, names: List[str]) -> np.ndarray:
    """The named columns side by side: float64 when all are numbers, else objects."""
    columns = [batch.columns[name] for name in names]
    if all(c.dtype.kind in "iuf" for c in columns):
        return _numeric_block(batch, names)
    out = np.empty((batch.n_rows, len(names)), dtype=object)
    for j, column in enumerate(columns):
        out[:, j] = column
    return out


def _numeric_block(batch: Batch, names: List[str]) -> np.ndarray:
    if batch.matrix is not None:
        position = {name: j for j, name in enumerate(batch.names)}
        return batch.matrix[:, [position[name] for name in names]]
    return np.column_stack([batch.columns[name].astype(np.float64) for name in names])


# -- estimators ------------------------------------------------------------------------


def _estimator(spec: Dict[str, Any], read: FileReader, classes: Optional[List[Any]]):
    kind = spec["type"]
    if kind == "xgboost":
        return _Booster(spec, read)
    if kind == "linear_classifier":
        return _LinearClassifier(spec)
    if kind == "forest":
        return _Forest(spec)
    raise Unsupported(f"estimator {kind!r}")


class _Booster:
    """XGBoost's booster, loaded by XGBoost from its own UBJSON, called as
    xgboost 1.7's scikit-learn wrapper calls it (`XGBClassifier.predict_proba`,
    `XGBModel.predict`) — the wrapper costs ≈ 0.3 ms a call on top of
    `inplace_predict` (≈ 0.1 ms)."""

    def __init__(self, spec: Dict[str, Any], read: FileReader):
        import xgboost

        self.booster = xgboost.Booster()
        self.booster.load_model(bytearray(read(spec["file"])))
        # One thread per worker: the runner holds OpenMP to the job's CPUs too.
        self.booster.set_param({"nthread": 1})
        self.iteration_range = tuple(spec["iteration_range"])
        self.missing = decode_scalar(spec["missing"])
        self.n_classes = spec.get("n_classes")

    def _value(self, X):
        return self.booster.inplace_predict(
            X, iteration_range=self.iteration_range, predict_type="value", missing=self.missing, validate_features=False
        )

    def predict_proba(self, X):
        p = self._value(X)
        if p.ndim == 2 and (p.shape[1] == self.n_classes or (self.n_classes == 2 and p.shape[1] >= 2)):
            return p
        return np.vstack((1.0 - p, p)).transpose()

    def predict(self, X):
        return self._value(X)


class _LinearClassifier:
    """scikit-learn 1.2's LogisticRegression.predict_proba: one-vs-rest
    sigmoids (normalised over the classes), or the softmax of the decision."""

    def __init__(self, spec: Dict[str, Any]):
        self.coef = decode_array(spec["coef"])
        self.intercept = decode_array(spec["intercept"])
        self.multinomial = bool(spec["multinomial"])

    def _decision(self, X):
        scores = np.asarray(X, dtype=np.float64) @ self.coef.T + self.intercept
        return scores.reshape(-1) if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        decision = self._decision(X)
        if self.multinomial:
            if decision.ndim == 1:
                decision = np.c_[-decision, decision]
            shifted = np.exp(decision - np.amax(decision, axis=1, keepdims=True))
            return shifted / np.sum(shifted, axis=1, keepdims=True)
        with np.errstate(over="ignore"):
            # As scipy's expit: exp overflowing for a very negative score is a probability of 0.
            prob = 1.0 / (1.0 + np.exp(-decision))
        if prob.ndim == 1:
            return np.vstack([1 - prob, prob]).T
        prob /= prob.sum(axis=1).reshape((prob.shape[0], -1))
        return prob


class _Forest:
    """A random forest's trees walked all at once: every row down every tree,
    one level per step, as scikit-learn's trees compare (float32 inputs
    against float64 thresholds, `<=` goes left); the leaves' values averaged."""

    def __init__(self, spec: Dict[str, Any]):
        lefts, rights, features, thresholds, values, roots = [], [], [], [], [], []
        offset = 0
        self.depth = 0
        for tree in spec["trees"]:
            left = decode_array(tree["left"]).astype(np.intp)
            right = decode_array(tree["right"]).astype(np.intp)
            n = len(left)
            own = np.arange(n, dtype=np.intp)
            leaf = left < 0
            # A leaf leads to itself: extra steps leave rows where they are.
            lefts.append(np.where(leaf, own, left) + offset)
            rights.append(np.where(leaf, own, right) + offset)
            features.append(np.where(leaf, 0, decode_array(tree["feature"])).astype(np.intp))
            thresholds.append(decode_array(tree["threshold"]).astype(np.float64))
            values.append(decode_array(tree["value"]).astype(np.float64))
            roots.append(offset)
            offset += n
            self.depth = max(self.depth, int(tree["max_depth"]))
        self.left = np.concatenate(lefts)
        self.right = np.concatenate(rights)
        self.feature = np.concatenate(features)
        self.threshold = np.concatenate(thresholds)
        self.value = np.concatenate(values)
        self.roots = np.asarray(roots, dtype=np.intp)
        self.regressor = spec["kind"] == "regressor"

    def _leaf_values(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32).astype(np.float64)
        n = X.shape[0]
        node = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        rows = np.arange(n)[:, np.newaxis]
        for _ in range(self.depth):
            go_left = X[rows, self.feature[node]] <= self.threshold[node]
            node = np.where(go_left, self.left[node], self.right[node])
        return self.value[node]  # (rows, trees, outputs)

    def predict_proba(self, X):
        leaves = self._leaf_values(X)
        return leaves.sum(axis=1) / leaves.shape[1]

    def predict(self, X):
        leaves = self._leaf_values(X)
        return leaves[:, :, 0].sum(axis=1) / leaves.shape[1]
