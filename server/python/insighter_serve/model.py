"""A model directory loaded for serving: signature, model, and its fast path.

Two loaders, chosen by whoever starts the worker:

- `json`: the model as Insighter's training jobs write it beside the pickle
  (safe_format.py) — the pipeline's parameters as JSON and an XGBoost booster
  in XGBoost's own UBJSON — replayed with numpy. Nothing in the folder can run
  code: pickle is never called (the worker forbids it, see no_pickle.py).
- `pickle`: `model.pkl` as MLflow's sklearn flavor loads it. Unpickling runs
  whatever code the file names, so the sidecar starts this loader only inside
  a sandbox. The pipeline's numpy replay is used when its steps allow it,
  after checking on the model's own input example that it answers exactly as
  the pipeline does.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from typing import Any, Dict, List, Optional

import numpy as np
import yaml

from . import safe_format
from .compiled import CompiledModel, Unsupported, compile_document
from .inputs import Batch, ColumnSpec, read_signature, signature_names

# The compiled path hands estimators fitted inside a pipeline a plain array,
# exactly as the pipeline does; scikit-learn still warns when the estimator
# once saw column names.
warnings.filterwarnings("ignore", message="X does not have valid feature names")

LOADERS = ("json", "pickle")


class ModelLoadError(Exception):
    """The directory does not hold a model this worker can serve."""


class ServedModel:
    def __init__(self, model_dir: str, fast_path: bool = True, loader: str = "pickle"):
        self.model_dir = model_dir
        self.loader = loader
        mlmodel_path = os.path.join(model_dir, "MLmodel")
        try:
            with open(mlmodel_path, encoding="utf-8") as f:
                mlmodel = yaml.safe_load(f) or {}
        except FileNotFoundError:
            raise ModelLoadError(f"No MLmodel file in {model_dir}.") from None
        except yaml.YAMLError as err:
            raise ModelLoadError(f"The MLmodel file is not valid YAML: {err}") from None
        if not isinstance(mlmodel, dict):
            raise ModelLoadError("The MLmodel file is not a YAML mapping.")
        self.signature: Optional[List[ColumnSpec]] = read_signature(mlmodel)
        self.example_rows = self._read_example(os.path.join(model_dir, "input_example.json"))
        self.compiled: Optional[CompiledModel] = None
        self.fast_path_note = "disabled"
        if loader == "json":
            self.model = None
            self.compiled = self._load_document(mlmodel)
            self.model_class = self._document_class
            self.fast_path_note = f"{self.compiled.description}, from {safe_format.DOCUMENT_FILE}"
            self.is_classifier = self.compiled.is_classifier
            self.classes: Optional[List[Any]] = self.compiled.classes
        elif loader == "pickle":
            self.model = self._unpickle(mlmodel)
            self.model_class = type(self.model).__name__
            self.is_classifier = hasattr(self.model, "predict_proba") and hasattr(self.model, "classes_")
            self.classes = [_json_scalar(c) for c in self.model.classes_] if self.is_classifier else None
            if fast_path:
                self.compiled, self.fast_path_note = self._compile()
        else:
            raise ModelLoadError(f"Unknown loader {loader!r}: one of {', '.join(LOADERS)}.")
        self._class_keys = [str(c) for c in self.classes] if self.classes else []

    def _load_document(self, mlmodel: Dict[str, Any]) -> CompiledModel:
        flavor = (mlmodel.get("flavors") or {}).get(safe_format.FLAVOR)
        if not isinstance(flavor, dict):
            raise ModelLoadError(
                f"The MLmodel file has no {safe_format.FLAVOR!r} flavor: this model was not written by an "
                "Insighter training job, and only its pickle could serve it."
            )

        def read(name: str) -> bytes:
            # Names come from the folder's own files: never a path out of it.
            if not isinstance(name, str) or os.path.basename(name) != name or name in ("", ".", ".."):
                raise ModelLoadError(f"{name!r} is not a file name of the model folder.")
            try:
                with open(os.path.join(self.model_dir, name), "rb") as f:
                    return f.read()
            except FileNotFoundError:
                raise ModelLoadError(f"No {name} in {self.model_dir}.") from None

        try:
            document = json.loads(read(flavor.get("document", safe_format.DOCUMENT_FILE)))
            self._document_class = str(document.get("model_class", "Pipeline"))
            return compile_document(document, read)
        except ModelLoadError:
            raise
        except (ValueError, KeyError, TypeError, IndexError, Unsupported) as err:
            raise ModelLoadError(f"{safe_format.DOCUMENT_FILE} could not be read: {type(err).__name__}: {err}") from None
        except Exception as err:  # noqa: BLE001 (XGBoost raises its own errors on a bad booster)
            raise ModelLoadError(f"The model's files could not be loaded: {err}") from None

    def _unpickle(self, mlmodel: Dict[str, Any]):
        import pickle

        flavor = (mlmodel.get("flavors") or {}).get("sklearn") or {}
        pickled = os.path.join(self.model_dir, flavor.get("pickled_model", "model.pkl"))
        try:
            with open(pickled, "rb") as f:
                return pickle.load(f)
        except FileNotFoundError:
            raise ModelLoadError(f"No {os.path.basename(pickled)} in {self.model_dir}.") from None
        except Exception as err:  # noqa: BLE001 (unpickling raises anything)
            raise ModelLoadError(f"{os.path.basename(pickled)} could not be loaded: {err}") from None

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
            "kind": "classifier" if self.is_classifier else "regressor" if self._predicts else "model",
            "classes": self.classes,
            "fast_path": self.compiled is not None,
            "fast_path_note": self.fast_path_note,
            "model_class": self.model_class,
            "loader": self.loader,
        }

    @property
    def _predicts(self) -> bool:
        return self.compiled is not None if self.model is None else hasattr(self.model, "predict")

    # -- the fast path ----------------------------------------------------

    def _compile(self):
        if self.signature is None:
            return None, "no input signature"
        if not self.example_rows:
            return None, "no input example to check it against"
        try:
            compiled, _, _ = safe_format.replay_of(self.model, signature_names(self.signature))
        except Unsupported as err:
            return None, f"not compiled: {err}"
        problem, checked = safe_format.disagreement(self.model, compiled, self.signature, self.example_rows)
        if problem:
            return None, f"not used: {problem}"
        return compiled, f"{compiled.description}, checked on {checked} rows"

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
