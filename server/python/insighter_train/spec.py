"""The job's request (INSIGHTER_TRAIN_SPEC) and its hyperparameters.

Bounds come from algorithms.json, which the sidecar validates requests with
too (server/src/jobs/algorithms.ts): the messages here are worded the same,
so a person sees the same sentence whichever side caught the mistake.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from . import EXIT_BAD_INPUT, TrainError

_ALGORITHMS_FILE = os.path.join(os.path.dirname(__file__), "algorithms.json")
TASKS = ("classification", "regression")


def load_algorithms() -> Dict[str, Any]:
    with open(_ALGORITHMS_FILE, encoding="utf-8") as f:
        return json.load(f)


@dataclass
class DatasetRef:
    id: str
    version: Optional[int] = None
    name: str = ""
    sha256: Optional[str] = None


@dataclass
class TrainSpec:
    target: str
    algorithm: str
    task: Optional[str]
    params: Dict[str, Any]
    model_name: Optional[str]
    dataset: DatasetRef
    label: str = ""


def describe_bounds(param: Dict[str, Any]) -> str:
    """e.g. "a whole number from 1 to 5000", "a number greater than 0 and at most 1"."""
    kind = "a whole number" if param["type"] == "int" else "a number"
    low, high = param.get("min"), param.get("max")
    ex_low, ex_high = param.get("exclusiveMin", False), param.get("exclusiveMax", False)
    if low is not None and high is not None and not ex_low and not ex_high:
        return f"{kind} from {_num(low)} to {_num(high)}"
    parts = []
    if low is not None:
        parts.append(f"greater than {_num(low)}" if ex_low else f"at least {_num(low)}")
    if high is not None:
        parts.append(f"less than {_num(high)}" if ex_high else f"at most {_num(high)}")
    return f"{kind} {' and '.join(parts)}" if parts else kind


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def param_problem(param: Dict[str, Any], value: Any) -> Optional[str]:
    """Why `value` does not fit `param`, or None."""
    must = f"{param['name']} must be {describe_bounds(param)}{', or empty for none' if param.get('nullable') else ''}."
    if value is None:
        return None if param.get("nullable") else must
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return must
    if param["type"] == "int" and not float(value).is_integer():
        return must
    low, high = param.get("min"), param.get("max")
    if low is not None and (value <= low if param.get("exclusiveMin") else value < low):
        return must
    if high is not None and (value >= high if param.get("exclusiveMax") else value > high):
        return must
    return None


def resolve_params(algorithm: str, given: Dict[str, Any]) -> Dict[str, Any]:
    """Defaults filled in, every value checked; TrainError lists every problem."""
    table = load_algorithms()
    spec = next((a for a in table["algorithms"] if a["id"] == algorithm), None)
    if spec is None:
        known = ", ".join(a["id"] for a in table["algorithms"])
        raise TrainError(f'Unknown algorithm "{algorithm}": choose one of {known}.', EXIT_BAD_INPUT)
    params: List[Dict[str, Any]] = spec["params"] + table["common"]
    by_name = {p["name"]: p for p in params}
    problems = []
    unknown = [name for name in given if name not in by_name]
    if unknown:
        problems.append(
            f"{spec['label']} has no hyperparameter {', '.join(repr(n) for n in unknown)}: "
            f"it takes {', '.join(by_name)}."
        )
    resolved: Dict[str, Any] = {}
    for param in params:
        value = given.get(param["name"], param["default"])
        problem = param_problem(param, value)
        if problem:
            problems.append(problem)
        elif value is not None and param["type"] == "int":
            value = int(value)
        resolved[param["name"]] = value
    if problems:
        raise TrainError(" ".join(problems), EXIT_BAD_INPUT)
    return resolved


def read_spec(text: Optional[str]) -> TrainSpec:
    if not text:
        raise TrainError("INSIGHTER_TRAIN_SPEC is not set: the job has no request to train.", EXIT_BAD_INPUT)
    try:
        raw = json.loads(text)
    except ValueError as err:
        raise TrainError(f"INSIGHTER_TRAIN_SPEC is not valid JSON: {err}", EXIT_BAD_INPUT) from None
    if not isinstance(raw, dict):
        raise TrainError("INSIGHTER_TRAIN_SPEC must be a JSON object.", EXIT_BAD_INPUT)
    target = raw.get("target")
    if not isinstance(target, str) or not target:
        raise TrainError("Name the target column: the spec has no target.", EXIT_BAD_INPUT)
    algorithm = raw.get("algorithm")
    if not isinstance(algorithm, str):
        raise TrainError("Choose an algorithm: the spec has none.", EXIT_BAD_INPUT)
    task = raw.get("task")
    if task is not None and task not in TASKS:
        raise TrainError(f'task must be "classification" or "regression", not {task!r}.', EXIT_BAD_INPUT)
    given = raw.get("params") or {}
    if not isinstance(given, dict):
        raise TrainError("params must be a JSON object of hyperparameters.", EXIT_BAD_INPUT)
    params = resolve_params(algorithm, given)
    label = next(a["label"] for a in load_algorithms()["algorithms"] if a["id"] == algorithm)
    if task == "regression" and algorithm == "logistic_regression":
        raise TrainError(
            "Logistic regression only classifies: choose XGBoost or a random forest for a regression.",
            EXIT_BAD_INPUT,
        )
    dataset = raw.get("dataset") or {}
    return TrainSpec(
        target=target,
        algorithm=algorithm,
        task=task,
        params=params,
        model_name=raw.get("model_name") or None,
        dataset=DatasetRef(
            id=str(dataset.get("id", "")),
            version=dataset.get("version"),
            name=str(dataset.get("name") or dataset.get("id") or "dataset"),
            sha256=dataset.get("sha256"),
        ),
        label=label,
    )
