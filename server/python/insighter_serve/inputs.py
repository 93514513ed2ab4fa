"""Request bodies → a typed batch of rows, checked against the model's signature.

The formats and rules are MLflow's scoring protocol (`/invocations`):

- JSON with exactly one of
  `dataframe_split` `{"columns": [...], "data": [[...], ...]}`,
  `dataframe_records` `[{"column": value, ...}, ...]`,
  `instances` (a list of records) or
  `inputs` (a list of records, or columns: `{"column": [values...]}`);
  an optional `params` object is accepted and not used (the models served
  here take none);
- `text/csv` with a header row.

Columns must be the signature's: a missing required column or an unknown
one is refused, naming it; so is a value of the wrong type (a text in a
number column, a fraction in an integer column). `null` (or an empty CSV
field) is a missing value, which the pipeline's imputers handle.
"""

from __future__ import annotations

import io
import itertools
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

JSON_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")

#: MLflow's column types → what a value of that type may be in JSON.
NUMERIC_TYPES = {"double", "float", "long", "integer"}
INTEGER_TYPES = {"long", "integer"}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


class InputError(ValueError):
    """A request the model cannot take; the message is shown to the caller."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    required: bool = True


def read_signature(mlmodel: Dict[str, Any]) -> Optional[List[ColumnSpec]]:
    """The input columns of an `MLmodel` file's signature; None without one.

    MLflow stores `signature.inputs` as a JSON string inside the YAML; a list
    written directly is taken too.
    """
    signature = mlmodel.get("signature") or {}
    inputs = signature.get("inputs")
    if inputs is None:
        return None
    if isinstance(inputs, str):
        inputs = json.loads(inputs)
    columns = []
    for spec in inputs:
        if "name" not in spec:
            # A tensor signature (no column names): nothing to check by name.
            return None
        columns.append(
            ColumnSpec(str(spec["name"]), str(spec.get("type", "double")), bool(spec.get("required", True)))
        )
    return columns


class Batch:
    """Rows as typed numpy columns, in the signature's order.

    Numbers are float64 (int64 for an integer column without missing values,
    as pandas reads it); text is an object array with NaN for a missing value
    (as pandas reads a CSV, so scikit-learn's imputers see it as missing).
    """

    def __init__(
        self,
        names: List[str],
        columns: Optional[Dict[str, np.ndarray]],
        n_rows: int,
        matrix: Optional[np.ndarray] = None,
        integer_columns: Sequence[str] = (),
    ):
        self.names = names
        self._columns = columns
        self.n_rows = n_rows
        #: Every column as float64 side by side, when every column is a number.
        self.matrix = matrix
        self._integer_columns = integer_columns

    @property
    def columns(self) -> Dict[str, np.ndarray]:
        # Made on first use: the fast path reads `matrix` and never needs them.
        if self._columns is None:
            columns = {}
            integer = set(self._integer_columns)
            for j, name in enumerate(self.names):
                column = self.matrix[:, j]
                if name in integer and not np.isnan(column).any():
                    column = column.astype(np.int64)
                columns[name] = column
            self._columns = columns
        return self._columns

    def frame(self):
        import pandas as pd

        return pd.DataFrame({name: self.columns[name] for name in self.names}, columns=self.names)


def parse_request(body: bytes, content_type: str, signature: Optional[List[ColumnSpec]]) -> Batch:
    """A request body as a batch; `InputError` with a readable message otherwise."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "text/csv":
        return _from_csv(body, signature)
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(f"The request body is not valid JSON: {err}.") from None
    return parse_json(document, signature)


def parse_json(document: Any, signature: Optional[List[ColumnSpec]]) -> Batch:
    if not isinstance(document, dict):
        raise InputError(_one_of_message())
    keys = [key for key in document if key != "params"]
    formats = [key for key in keys if key in JSON_FORMATS]
    unknown = [key for key in keys if key not in JSON_FORMATS]
    if unknown or len(formats) != 1:
        raise InputError(_one_of_message(unknown, formats))
    params = document.get("params")
    if params is not None and not isinstance(params, dict):
        raise InputError('"params" must be an object.')
    key = formats[0]
    value = document[key]
    if key == "dataframe_split":
        names, rows = _split(value)
        return _from_rows(names, rows, signature)
    if key == "inputs" and isinstance(value, dict):
        return _from_columns(value, signature)
    return _from_records(key, value, signature)


def _one_of_message(unknown: Sequence[str] = (), formats: Sequence[str] = ()) -> str:
    found = ""
    if unknown:
        found = " Unknown field " + ", ".join(f'"{k}"' for k in unknown) + "."
    elif len(formats) > 1:
        found = " Found " + ", ".join(f'"{k}"' for k in formats) + "."
    return (
        'Send a JSON object with exactly one of "dataframe_split", "dataframe_records", '
        '"instances" or "inputs", e.g. {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}}.'
        + found
    )


def _split(value: Any):
    if not isinstance(value, dict) or not isinstance(value.get("columns"), list) or not isinstance(value.get("data"), list):
        raise InputError('"dataframe_split" must be {"columns": [...], "data": [[...], ...]}.')
    extra = [k for k in value if k not in ("columns", "data", "index")]
    if extra:
        raise InputError(f'"dataframe_split" has an unknown field "{extra[0]}": it takes columns, data and index.')
    names = value["columns"]
    if not all(isinstance(name, str) for name in names):
        raise InputError('"dataframe_split.columns" must be a list of column names.')
    if len(set(names)) != len(names):
        duplicate = next(name for name in names if names.count(name) > 1)
        raise InputError(f'Column "{duplicate}" appears twice in "dataframe_split.columns".')
    rows = value["data"]
    width = len(names)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise InputError(f'Row {i + 1} of "dataframe_split.data" must be a list of {width} values, one per column.')
    return names, rows


def _from_records(key: str, records: Any, signature: Optional[List[ColumnSpec]]) -> Batch:
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InputError(f'"{key}" must be a list of rows, each an object of column → value.')
    if not records:
        raise InputError(f'"{key}" holds no rows.')
    names = signature_names(signature) if signature else list(records[0])
    known = set(names)
    for i, record in enumerate(records):
        if record.keys() != known:
            problem = _names_problem(list(record), signature) if signature else "its columns differ from the first row's."
            if problem:
                raise InputError(f'Row {i + 1} of "{key}": {problem}')
    rows = [[record.get(name) for name in names] for record in records]
    return _from_rows(names, rows, signature)


def _from_columns(columns: Dict[str, Any], signature: Optional[List[ColumnSpec]]) -> Batch:
    lengths = set()
    for name, values in columns.items():
        if not isinstance(values, list):
            raise InputError(f'"inputs.{name}" must be a list of values (one per row).')
        lengths.add(len(values))
    if len(lengths) > 1:
        raise InputError('Every column of "inputs" must have the same number of values.')
    names = list(columns)
    rows = [list(row) for row in zip(*(columns[name] for name in names))]
    return _from_rows(names, rows, signature)


def signature_names(signature: List[ColumnSpec]) -> List[str]:
    return [spec.name for spec in signature]


def _check_names(names: List[str], signature: List[ColumnSpec]) -> None:
    problem = _names_problem(names, signature)
    if problem:
        raise InputError(problem[0].upper() + problem[1:])


def _names_problem(names: List[str], signature: List[ColumnSpec]) -> Optional[str]:
    given = set(names)
    expected = {spec.name for spec in signature}
    extra = [name for name in names if name not in expected]
    if extra:
        return (
            f"unknown column{'s' if len(extra) > 1 else ''} {_quoted(extra)}: "
            f"the model takes {_quoted(signature_names(signature), 8)}."
        )
    missing = [spec.name for spec in signature if spec.required and spec.name not in given]
    if missing:
        return f"missing column{'s' if len(missing) > 1 else ''} {_quoted(missing)}."
    return None


def _quoted(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(f'"{n}"' for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _from_rows(names: List[str], rows: List[List[Any]], signature: Optional[List[ColumnSpec]]) -> Batch:
    if not rows:
        raise InputError("The request holds no rows.")
    if signature is None:
        import pandas as pd

        frame = pd.DataFrame(rows, columns=names)
        return Batch(names, {name: frame[name].to_numpy() for name in names}, len(rows))
    _check_names(names, signature)
    n_rows = len(rows)
    if names != signature_names(signature):
        position = {name: i for i, name in enumerate(names)}
        rows = [[row[position[spec.name]] if spec.name in position else None for spec in signature] for row in rows]
        names = signature_names(signature)
    specs = signature
    if all(spec.type in NUMERIC_TYPES for spec in specs):
        matrix = _numeric_matrix(rows, specs)
        if matrix is not None:
            integer = [spec.name for spec in specs if spec.type in INTEGER_TYPES]
            return Batch(names, None, n_rows, matrix, integer)
    columns = {spec.name: _column([row[j] for row in rows], spec) for j, spec in enumerate(specs)}
    return Batch(names, columns, n_rows)


_NUMBER_TYPES = {int, float, type(None)}


def _numeric_matrix(rows: List[List[Any]], specs: List[ColumnSpec]) -> Optional[np.ndarray]:
    """All-number rows as one float64 matrix, checked in bulk; None to check column by column."""
    if not set(map(type, itertools.chain.from_iterable(rows))) <= _NUMBER_TYPES:
        return None
    try:
        matrix = np.array(rows, dtype=np.float64)
    except (OverflowError, ValueError):
        return None
    integer = [j for j, spec in enumerate(specs) if spec.type in INTEGER_TYPES]
    if integer:
        block = matrix[:, integer]
        finite = block[~np.isnan(block)]
        if (finite != np.floor(finite)).any() or (np.abs(finite) > 2**53).any():
            return None
    return matrix


def _column(values: List[Any], spec: ColumnSpec) -> np.ndarray:
    kind = spec.type
    bad = None
    if kind in ("double", "float"):
        bad = next((v for v in values if not (v is None or (type(v) in (int, float)))), _OK)
        if bad is _OK:
            return np.array(values, dtype=np.float64)
    elif kind in INTEGER_TYPES:
        low, high = (_INT32_MIN, _INT32_MAX) if kind == "integer" else (_INT64_MIN, _INT64_MAX)
        bad = next((v for v in values if not (v is None or (type(v) is int and low <= v <= high))), _OK)
        if bad is _OK:
            if any(v is None for v in values):
                return np.array(values, dtype=np.float64)
            return np.array(values, dtype=np.int64)
    elif kind == "boolean":
        bad = next((v for v in values if not (v is None or type(v) is bool)), _OK)
        if bad is _OK:
            if any(v is None for v in values):
                return np.array([np.nan if v is None else v for v in values], dtype=object)
            return np.array(values, dtype=bool)
    elif kind == "string":
        bad = next((v for v in values if not (v is None or type(v) is str)), _OK)
        if bad is _OK:
            return np.array([np.nan if v is None else v for v in values], dtype=object)
    else:
        # datetime, binary and types this worker does not know: passed on as given.
        return np.array(values, dtype=object)
    raise InputError(f'Column "{spec.name}" takes {_type_words(spec)}, not {_describe(bad)}.')


_OK = object()


def _type_words(spec: ColumnSpec) -> str:
    return {
        "double": "numbers",
        "float": "numbers",
        "long": "whole numbers",
        "integer": "whole numbers (32-bit)",
        "boolean": "true or false",
        "string": "text",
    }.get(spec.type, spec.type)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{json.dumps(value)} (true/false)"
    if isinstance(value, str):
        return f"{json.dumps(value[:40])} (text)"
    if isinstance(value, float):
        return f"{value!r} (a fraction)"
    if isinstance(value, int):
        return f"{value} (out of range)"
    return f"{json.dumps(value)[:40]} ({type(value).__name__})"


def _from_csv(body: bytes, signature: Optional[List[ColumnSpec]]) -> Batch:
    import pandas as pd

    if not body.strip():
        raise InputError("The CSV body is empty: send a header row and one row per prediction.")
    dtypes = {spec.name: str for spec in signature if spec.type == "string"} if signature else None
    try:
        frame = pd.read_csv(io.BytesIO(body), dtype=dtypes)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputError(f"The CSV body could not be read: {err}".rstrip(".") + ".") from None
    names = [str(c) for c in frame.columns]
    rows = []
    for record in frame.itertuples(index=False, name=None):
        rows.append([_csv_value(v) for v in record])
    if signature is not None:
        integer = {spec.name for spec in signature if spec.type in INTEGER_TYPES}
        for j, name in enumerate(names):
            if name in integer:
                for row in rows:
                    v = row[j]
                    if isinstance(v, float) and v.is_integer():
                        row[j] = int(v)
    return _from_rows(names, rows, signature)


def _csv_value(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
