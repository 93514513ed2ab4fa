"""A fitted scikit-learn Pipeline's preprocessing, replayed with numpy.

`pipeline.predict_proba(frame)` on one row takes ≈ 3 ms here, and nearly all
of it is scikit-learn's per-call machinery (ColumnTransformer picking
columns out of the DataFrame, `check_array` in every step, joblib dispatch);
the arithmetic itself is microseconds. For steps whose fitted state is a few
arrays — SimpleImputer, StandardScaler, MinMaxScaler, OneHotEncoder,
OrdinalEncoder, passthrough and drop, nested Pipelines and a
ColumnTransformer — this module does that arithmetic in the order and with
the dtypes scikit-learn uses (scikit-learn 1.2's transform code), and hands
the result to the final estimator exactly as the pipeline would.

Anything it does not know raises `Unsupported` and the worker calls the
pipeline itself. The worker also only uses a compiled model after checking
that it answers exactly like the pipeline on the model's input example,
with every column missing in turn and with unknown categories (model.py).
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from .inputs import Batch

Transform = Callable[[np.ndarray], np.ndarray]


class Unsupported(Exception):
    """A step this module does not replay; the message says which."""


class CompiledModel:
    """`transform(batch)` gives what the pipeline's last step receives."""

    def __init__(self, transform: Callable[[Batch], object], estimator, description: str):
        self.transform = transform
        self.estimator = estimator
        self.description = description

    def predict_proba(self, batch: Batch):
        return self.estimator.predict_proba(self.transform(batch))

    def predict(self, batch: Batch):
        return self.estimator.predict(self.transform(batch))


def compile_model(model, signature_names: Sequence[str]) -> CompiledModel:
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        steps = [step for _, step in model.steps]
        estimator = steps[-1]
        head = steps[:-1]
    else:
        estimator, head = model, []
    if estimator is None or (isinstance(estimator, str) and estimator == "passthrough"):
        raise Unsupported("the pipeline has no final estimator")
    if not head:
        return CompiledModel(
            _select_all(estimator, signature_names), _fast_estimator(estimator), type(estimator).__name__
        )
    first, rest = head[0], head[1:]
    table_step = _compile_table_step(first, signature_names)
    rest_steps = [_compile_step(step) for step in rest]

    def transform(batch: Batch):
        X = table_step(batch)
        for step in rest_steps:
            X = step(X)
        return X

    names = " → ".join(type(step).__name__ for step in steps)
    return CompiledModel(transform, _fast_estimator(estimator), names)


def _fast_estimator(estimator):
    """XGBoost's scikit-learn wrapper costs ≈ 0.3 ms a call on top of its
    booster's `inplace_predict` (≈ 0.1 ms): call the booster as the wrapper
    would (xgboost 1.7's XGBClassifier.predict_proba / XGBModel.predict)."""
    try:
        from xgboost import XGBClassifier, XGBRegressor
    except ImportError:  # pragma: no cover (Debian's python3-xgboost is a runtime package)
        return estimator
    if type(estimator) not in (XGBClassifier, XGBRegressor):
        return estimator
    if not estimator._can_use_inplace_predict() or estimator.objective == "multi:softmax":
        return estimator
    return _BoosterPredictor(estimator)


class _BoosterPredictor:
    def __init__(self, estimator):
        self.estimator = estimator
        self.booster = estimator.get_booster()
        self.iteration_range = estimator._get_iteration_range(None)
        self.missing = estimator.missing
        self.n_classes = getattr(estimator, "n_classes_", None)
        self.classes_ = getattr(estimator, "classes_", None)
        self.name = type(estimator).__name__

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
        if self.n_classes is None:
            return self._value(X)
        return self.estimator.predict(X)


def _select_all(estimator, signature_names: Sequence[str]) -> Callable[[Batch], np.ndarray]:
    """A bare estimator fitted on a DataFrame: its columns, in its order, as numbers."""
    names = list(getattr(estimator, "feature_names_in_", signature_names))
    missing = [n for n in names if n not in signature_names]
    if missing:
        raise Unsupported(f"the estimator needs columns the signature lacks: {missing[:3]}")
    return lambda batch: _numeric_block(batch, names)


def _compile_table_step(step, signature_names: Sequence[str]) -> Callable[[Batch], object]:
    """The first step sees the request's columns (a DataFrame for scikit-learn)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    if isinstance(step, ColumnTransformer):
        return _compile_column_transformer(step)
    if isinstance(step, Pipeline):
        inner = [s for _, s in step.steps]
        first = _compile_table_step(inner[0], signature_names)
        rest = [_compile_step(s) for s in inner[1:]]

        def run(batch: Batch):
            X = first(batch)
            for s in rest:
                X = s(X)
            return X

        return run
    names = list(getattr(step, "feature_names_in_", []))
    if not names:
        raise Unsupported(f"{type(step).__name__} was not fitted on named columns")
    array_step = _compile_step(step)
    numeric = all(n in signature_names for n in names)
    if not numeric:
        raise Unsupported(f"{type(step).__name__} needs columns the signature lacks")
    return lambda batch: array_step(_block(batch, names))


def _compile_column_transformer(ct) -> Callable[[Batch], object]:
    from scipy import sparse

    if getattr(ct, "transformer_weights", None):
        raise Unsupported("ColumnTransformer with transformer_weights")
    config = getattr(ct, "_sklearn_output_config", {}) or {}
    if config.get("transform") not in (None, "default"):
        raise Unsupported("ColumnTransformer with set_output(transform='pandas')")
    if not hasattr(ct, "feature_names_in_") or not hasattr(ct, "_transformer_to_input_indices"):
        raise Unsupported("ColumnTransformer not fitted on a DataFrame")
    blocks = []
    for name, trans, columns in ct.transformers_:
        if isinstance(trans, str) and trans == "drop":
            continue
        indices = ct._transformer_to_input_indices.get(name, [])
        if len(indices) == 0:
            continue
        names = [str(n) for n in ct.feature_names_in_[indices]]
        step = (lambda X: X) if isinstance(trans, str) and trans == "passthrough" else _compile_step(trans)
        blocks.append((names, step))
    sparse_output = bool(ct.sparse_output_)

    def run(batch: Batch):
        outputs = [step(_block(batch, names)) for names, step in blocks]
        if not outputs:
            return np.zeros((batch.n_rows, 0))
        X = np.hstack(outputs)
        if sparse_output:
            return sparse.csr_matrix(X)
        return X

    return run


def _compile_step(step) -> Transform:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

    if step is None or (isinstance(step, str) and step == "passthrough"):
        return lambda X: X
    kind = type(step)
    if kind is Pipeline:
        inner = [_compile_step(s) for _, s in step.steps]

        def run(X):
            for s in inner:
                X = s(X)
            return X

        return run
    if kind is SimpleImputer:
        return _imputer(step)
    if kind is StandardScaler:
        return _standard_scaler(step)
    if kind is MinMaxScaler:
        return _min_max_scaler(step)
    if kind is OneHotEncoder:
        return _one_hot(step)
    if kind is OrdinalEncoder:
        return _ordinal(step)
    raise Unsupported(f"step {kind.__name__}")


def _imputer(step) -> Transform:
    if step.add_indicator:
        raise Unsupported("SimpleImputer(add_indicator=True)")
    missing = step.missing_values
    if not (isinstance(missing, float) and missing != missing):
        raise Unsupported("SimpleImputer with missing_values other than NaN")
    statistics = step.statistics_
    keep = None
    if step.strategy != "constant" and not getattr(step, "keep_empty_features", False):
        invalid = _is_missing_array(statistics)
        if invalid.any():
            keep = np.flatnonzero(~invalid)
            statistics = statistics[keep]

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


def _standard_scaler(step) -> Transform:
    mean = step.mean_ if step.with_mean else None
    scale = step.scale_ if step.with_std else None

    def run(X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64)
        if mean is not None:
            X -= mean
        if scale is not None:
            X /= scale
        return X

    return run


def _min_max_scaler(step) -> Transform:
    scale, minimum, clip, (low, high) = step.scale_, step.min_, step.clip, step.feature_range

    def run(X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64)
        X *= scale
        X += minimum
        if clip:
            np.clip(X, low, high, out=X)
        return X

    return run


def _one_hot(step) -> Transform:
    if getattr(step, "drop_idx_", None) is not None:
        raise Unsupported("OneHotEncoder(drop=...)")
    if getattr(step, "_infrequent_enabled", False):
        raise Unsupported("OneHotEncoder with infrequent categories")
    if step.handle_unknown not in ("ignore", "error"):
        raise Unsupported(f"OneHotEncoder(handle_unknown={step.handle_unknown!r})")
    encoders = [_CategoryIndex(categories) for categories in step.categories_]
    widths = [len(categories) for categories in step.categories_]
    offsets = np.concatenate([[0], np.cumsum(widths)])
    total = int(offsets[-1])
    error = step.handle_unknown == "error"
    dtype = step.dtype

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


def _ordinal(step) -> Transform:
    if step.handle_unknown not in ("error", "use_encoded_value"):
        raise Unsupported(f"OrdinalEncoder(handle_unknown={step.handle_unknown!r})")
    encoders = [_CategoryIndex(categories) for categories in step.categories_]
    use_encoded = step.handle_unknown == "use_encoded_value"
    unknown_value = step.unknown_value
    missing_value = getattr(step, "encoded_missing_value", np.nan)
    dtype = step.dtype

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
        missing = _is_missing_array(categories)
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


def _is_missing_array(values: np.ndarray) -> np.ndarray:
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
