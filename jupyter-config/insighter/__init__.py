"""Insighter from Python: the helpers every Insighter Lab kernel can import.

    import insighter
    insighter.datasets.list()                       # a DataFrame of the project's datasets
    df = insighter.datasets.load("german_credit")   # a dataset as a DataFrame
    insighter.session().user                        # who the kernel works as
    with insighter.tracking.start_run():            # a run in the project's experiment
        insighter.tracking.log_metric("auc", 0.91)

The kernel works as the person signed in to Insighter Lab in the browser: no
token or path is pasted into a notebook (see `_client.py` for how). Errors
are `insighter.InsighterError`s whose message says what to do.
"""

from . import datasets, tracking
from ._client import (
    ALL_PROJECTS,
    ApiError,
    InsighterError,
    NotFound,
    NotSignedIn,
    ServiceUnreachable,
    Session,
    session,
)

__version__ = "0.1.0"

__all__ = [
    "ALL_PROJECTS",
    "ApiError",
    "InsighterError",
    "NotFound",
    "NotSignedIn",
    "ServiceUnreachable",
    "Session",
    "datasets",
    "session",
    "tracking",
]
