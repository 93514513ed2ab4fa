"""Datasets of the Insighter catalog, in pandas.

    import insighter
    insighter.datasets.list()                    # the notebook's project's datasets
    df = insighter.datasets.load("german_credit")
    df = insighter.datasets.load("german_credit", version=1, usecols=["age", "credit_amount"])

Inside `projects/<slug>/` the project is that folder's; elsewhere every
dataset you can read. `project=` (id, slug or name, or "*" for all) overrides.
A dataset is named by its name, its file name or its id.
"""

from __future__ import annotations

import http.client
from typing import Any, Dict, List, Optional

from ._client import ALL_PROJECTS, InsighterError, NotFound, Session, ServiceUnreachable, session

__all__ = ["list", "get", "load", "ALL_PROJECTS"]

#: The columns of `list()`, in this order (fields of the catalog record, plus
#: `project`, the project's slug).
LIST_COLUMNS = (
    "name",
    "version",
    "format",
    "status",
    "row_count",
    "column_count",
    "size_bytes",
    "project",
    "description",
    "updated_at",
    "id",
)

_READY = "ready"


def list(project: Optional[str] = None):  # noqa: A001 (the name users expect)
    """The datasets as a `pandas.DataFrame`, one row per dataset (its newest
    version), columns `LIST_COLUMNS`; the full records are `get(name)`."""
    import pandas as pd

    client = session()
    records, projects, _ = _records(client, project)
    slugs = {p.get("id"): p.get("slug") for p in projects}
    rows = [
        {**{key: record.get(key) for key in LIST_COLUMNS}, "project": slugs.get(record.get("project_id"))}
        for record in records
    ]
    return pd.DataFrame(rows, columns=LIST_COLUMNS)


def get(name: str, version: Optional[int] = None, project: Optional[str] = None) -> Dict[str, Any]:
    """The catalog record of a dataset (schema, statistics, versions) as a dict."""
    client = session()
    return _record(client, name, version, project)


def load(name: str, version: Optional[int] = None, project: Optional[str] = None, **read_csv_kwargs: Any):
    """The dataset (its newest version, or `version`) as a `pandas.DataFrame`.

    It always arrives as CSV (the service converts Parquet), so no Parquet
    engine is needed, and is parsed as it streams in: the file is never held
    twice. Keyword arguments go to `pandas.read_csv` (`usecols`, `nrows`,
    `dtype`, …). Dates and timestamps of a Parquet dataset come back parsed.
    """
    import pandas as pd

    client = session()
    record = _record(client, name, version, project)
    status = record.get("status")
    if status != _READY:
        reason = record.get("error") or ""
        raise InsighterError(
            f"Dataset {record.get('name')!r} (version {record.get('version')}) cannot be loaded: "
            f"its status is {status!r}{f' ({reason})' if reason else ''}. Only a Ready dataset loads."
        )
    options = _read_options(record, read_csv_kwargs)
    with client.open(
        "GET",
        f"api/v1/datasets/{record['id']}/content",
        # The version whose schema was read, even if a newer one lands meanwhile.
        params={"format": "csv", "version": record.get("version", version)},
        headers={"Accept": "text/csv"},
    ) as response:
        try:
            return pd.read_csv(response, **options)
        except (http.client.HTTPException, ConnectionError, TimeoutError) as error:
            raise ServiceUnreachable(
                f"The download of dataset {record.get('name')!r} was cut short ({type(error).__name__}); "
                "run this again."
            ) from None


def _read_options(record: Dict[str, Any], given: Dict[str, Any]) -> Dict[str, Any]:
    """read_csv's options: the caller's, plus the dates of a Parquet dataset
    (CSV carries them as text; the schema says which columns were dates)."""
    options = dict(given)
    if record.get("format") != "parquet" or "parse_dates" in options or "dtype" in options:
        return options
    dates = [
        column["name"]
        for column in record.get("columns") or []
        if isinstance(column, dict) and str(column.get("type", "")).upper().startswith(("DATE", "TIMESTAMP"))
    ]
    usecols = options.get("usecols")
    if usecols is not None and not callable(usecols):
        dates = [d for d in dates if d in usecols]
    if dates:
        options["parse_dates"] = dates
    return options


def _records(client: Session, project: Optional[str]):
    """The dataset records in scope, the projects they may belong to, and the
    chosen project (None: every project)."""
    chosen = client.project(project)
    if chosen is not None:
        answer = client.get("api/v1/datasets", project_id=chosen["id"])
        projects = [chosen]
    else:
        answer = client.get("api/v1/datasets")
        projects = client.projects()
    datasets = answer.get("datasets", []) if isinstance(answer, dict) else []
    return [d for d in datasets if isinstance(d, dict)], projects, chosen


def _record(client: Session, name: str, version: Optional[int], project: Optional[str]) -> Dict[str, Any]:
    records, projects, chosen = _records(client, project)
    matches = _matching(records, str(name))
    if not matches:
        scope = f"project {chosen.get('name')!r} ({chosen.get('slug')})" if chosen else "your projects"
        available = ", ".join(sorted({repr(r.get("name")) for r in records})) or "none yet"
        raise NotFound(f"No dataset {name!r} in {scope}. Datasets there: {available}.")
    if len(matches) > 1:
        slugs = {p.get("id"): p.get("slug") for p in projects}
        where = ", ".join(repr(slugs.get(r.get("project_id"), r.get("project_id"))) for r in matches)
        raise InsighterError(
            f"Several datasets are named {name!r}, in the projects {where}: "
            f"pass project= one of them, or the dataset's id."
        )
    # The listing leaves out the schema: the record itself has it.
    record = matches[0]
    try:
        return client.get(f"api/v1/datasets/{record['id']}", version=None if version is None else int(version))
    except NotFound:
        if version is None:
            raise
        versions = sorted(
            v.get("version") for v in record.get("versions") or [] if isinstance(v, dict) and v.get("version")
        )
        known = ", ".join(str(v) for v in versions) or str(record.get("version"))
        raise NotFound(f"Dataset {record.get('name')!r} has no version {version}; its versions: {known}.") from None


def _matching(records: List[Dict[str, Any]], name: str) -> List[Dict[str, Any]]:
    """By id, else by exact name, else ignoring case, else by file name."""
    for test in (
        lambda r: r.get("id") == name,
        lambda r: r.get("name") == name,
        lambda r: str(r.get("name", "")).casefold() == name.casefold(),
        lambda r: r.get("file_name") == name,
    ):
        found = [r for r in records if test(r)]
        if found:
            return found
    return []
