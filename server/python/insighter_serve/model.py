"""A model directory loaded for serving: signature, pipeline, and its fast path."""

from __future__ import annotations

import json
import os
import pickle
import sys
import warnings
from typing import Any, Dict, List, Optional

import numpy as np
import yaml

from .compiled import CompiledModel, Unsupported, compile_model
from .inputs import Batch, ColumnSpec, InputError, parse_json, read_signature, signature_names

# The compiled path hands estimators fitted inside a pipeline a plain array,
# exactly as the pipeline does; scikit-learn still warns when the estimator
# once saw column names.
warnings.filterwarnings("ignore", message="X does not have valid feature names")

UNKNOWN_TEXT = "__insighter_unknown_category__"
UNKNOWN_NUMBER = -987654321


class ModelLoadError(Exception):
    """The directory does not hold a model this worker can serve."""


class ServedModel:
    def __init__(self, model_dir: str, fast_path: bool = True):
        self.model_dir = model_dir
        mlmodel_path = os.path.join(model_dir, "MLmodel")
        try:
            with open(mlmodel_path, encoding="utf-8") as f:
                mlmodel = yaml.safe_load(f) or {}
        except FileNotFoundError:
            raise ModelLoadError(f"No MLmodel file in {model_dir}.") from None
        except yaml.YAMLError as err:
            raise ModelLoadError(f"The MLmodel file is not valid YAML: {err}") from None
        self.signature: Optional[List[ColumnSpec]] = read_signature(mlmodel)
        flavor = (mlmodel.get("flavors") or {}).get("sklearn") or {}
        pickled = os.path.join(model_dir, flavor.get("pickled_model", "model.pkl"))
        try:
            with open(pickled, "rb") as f:
                self.model = pickle.load(f)
        except FileNotFoundError:
            raise ModelLoadError(f"No {os.path.basename(pickled)} in {model_dir}.") from None
        except Exception as err:  # noqa: BLE001 (unpickling raises anything)
            raise ModelLoadError(f"{os.path.basename(pickled)} could not be loaded: {err}") from None
        self.is_classifier = hasattr(self.model, "predict_proba") and hasattr(self.model, "classes_")
        self.classes: Optional[List[Any]] = (
            [_json_scalar(c) for c in self.model.classes_] if self.is_classifier else None
        )
        self._class_keys = [str(c) for c in self.classes] if self.classes else []
        self.example_rows = self._read_example(os.path.join(model_dir, "input_example.json"))
        self.compiled: Optional[CompiledModel] = None
        self.fast_path_note = "disabled"
        if fast_path:
            self.compiled, self.fast_path_note = self._compile()

    # -- predicting -----------------------------------------------------

    def predict(self, batch: Batch) -> List[Any]:
        """One prediction per row, JSON-ready: for classifiers
        `{"prediction": label, "probabilities": {class: p, ...}}`, else the value."""
        if self.is_classifier:
            probabilities = self._proba(batch)
            best = probabilities.argmax(axis=1).tolist()
            keys = self._class_keys
            classes = self.classes
            return [
                {"prediction": classes[b], "probabilities": dict(zip(keys, row))}
                for b, row in zip(best, probabilities.tolist())
            ]
        values = self.compiled.predict(batch) if self.compiled else self.model.predict(batch.frame())
        return [_json_scalar(v) for v in np.asarray(values).tolist()]

    def _proba(self, batch: Batch) -> np.ndarray:
        if self.compiled:
            return np.asarray(self.compiled.predict_proba(batch), dtype=np.float64)
        return np.asarray(self.model.predict_proba(batch.frame()), dtype=np.float64)

    def metadata(self) -> Dict[str, Any]:
        return {
            "signature": None
            if self.signature is None
            else [{"name": s.name, "type": s.type, "required": s.required} for s in self.signature],
            "kind": "classifier" if self.is_classifier else "regressor" if hasattr(self.model, "predict") else "model",
            "classes": self.classes,
            "fast_path": self.compiled is not None,
            "fast_path_note": self.fast_path_note,
            "model_class": type(self.model).__name__,
        }

    # -- the fast path ----------------------------------------------------

    def _compile(self):
        if self.signature is None:
            return None, "no input signature"
        if not self.example_rows:
            return None, "no input example to check it against"
        try:
            compiled = compile_model(self.model, signature_names(self.signature))
        except Unsupported as err:
            return None, f"not compiled: {err}"
        problem = self._verify(compiled)
        if problem:
            return None, f"not used: {problem}"
        return compiled, f"{compiled.description}, checked on {self._checked_rows} rows"

    def _verify(self, compiled: CompiledModel) -> Optional[str]:
        """Why the compiled model cannot be trusted, or None when it answers
        like the pipeline on the example, on the example with each column
        missing in turn, and with an unknown value in each column."""
        names = signature_names(self.signature)
        base = self.example_rows[0]
        variants: List[List[List[Any]]] = [self.example_rows]
        missing = []
        for j in range(len(names)):
            row = list(base)
            row[j] = None
            missing.append(row)
        variants.append(missing)
        unknown = []
        for j, spec in enumerate(self.signature):
            row = list(base)
            if spec.type == "string":
                row[j] = UNKNOWN_TEXT
            elif spec.type in ("long", "integer", "double", "float"):
                row[j] = UNKNOWN_NUMBER
            else:
                continue
            unknown.append(row)
        variants.append(unknown)
        self._checked_rows = 0
        for rows in variants:
            if not rows:
                continue
            problem = self._compare(compiled, rows)
            if problem == "raised":
                # One bad row fails a whole batch: look at each row alone.
                for row in rows:
                    single = self._compare(compiled, [row])
                    if single not in (None, "both raised"):
                        return single if single != "raised" else "the pipeline and the fast path disagree on an error"
            elif problem and problem != "both raised":
                return problem
            self._checked_rows += len(rows)
        return None

    def _compare(self, compiled: CompiledModel, rows: List[List[Any]]) -> Optional[str]:
        names = signature_names(self.signature)
        try:
            batch = parse_json({"dataframe_split": {"columns": names, "data": rows}}, self.signature)
        except InputError as err:
            return f"the input example does not fit the signature: {err}"
        method = "predict_proba" if self.is_classifier else "predict"
        reference = expected_error = None
        try:
            reference = np.asarray(getattr(self.model, method)(batch.frame()), dtype=np.float64)
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

    # -- files ----------------------------------------------------------------

    def _read_example(self, path: str) -> Optional[List[List[Any]]]:
        """The example's rows in the signature's order (MLflow writes the
        split orientation `{"columns", "data"}`; records are taken too)."""
        if self.signature is None or not os.path.exists(path):
            return None
        try:
            with open(path, encoding="utf-8") as f:
                example = json.load(f)
        except ValueError:
            return None
        if isinstance(example, dict) and "dataframe_split" in example:
            example = example["dataframe_split"]
        names = signature_names(self.signature)
        if isinstance(example, dict) and "columns" in example and "data" in example:
            position = {name: i for i, name in enumerate(example["columns"])}
            if not all(n in position for n in names):
                return None
            return [[row[position[n]] for n in names] for row in example["data"]] or None
        if isinstance(example, list) and example and all(isinstance(r, dict) for r in example):
            if not all(n in example[0] for n in names):
                return None
            return [[r.get(n) for n in names] for r in example]
        return None


def _json_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def log(message: str) -> None:
    print(f"insighter_serve: {message}", file=sys.stderr, flush=True)
