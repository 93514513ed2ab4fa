"""The dataset: downloaded as CSV from the sidecar, read with pandas."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from typing import Optional, Tuple

from . import EXIT_DATASET, TrainError
from .mlflow_rest import RETRY_DELAYS_S, RETRY_STATUSES, _mlflow_error
from .transport import opener_for

CHUNK = 1 << 20


def download(url: str, token: Optional[str], into: str) -> Tuple[str, str, int]:
    """Saves the CSV under `into`; returns (path, sha256 of the bytes, size)."""
    open_url, url = opener_for(url)
    headers = {"Accept": "text/csv"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    last: Optional[str] = None
    for delay in (0,) + RETRY_DELAYS_S:
        if delay:
            time.sleep(delay)
        req = urllib.request.Request(url, headers=headers)
        try:
            with open_url(req, timeout=120) as res:
                fd, path = tempfile.mkstemp(prefix="dataset-", suffix=".csv", dir=into)
                digest = hashlib.sha256()
                size = 0
                with os.fdopen(fd, "wb") as out:
                    while True:
                        chunk = res.read(CHUNK)
                        if not chunk:
                            break
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                return path, digest.hexdigest(), size
        except urllib.error.HTTPError as err:
            problem = _mlflow_error(err)
            if err.code in RETRY_STATUSES:
                last = problem.message
                continue
            if err.code == 404:
                raise TrainError(
                    f"The dataset is gone: {problem.message} It was deleted (or its version was) "
                    "before the job could read it.",
                    EXIT_DATASET,
                ) from None
            raise TrainError(
                f"The dataset could not be downloaded ({err.code}): {problem.message}", EXIT_DATASET
            ) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
            last = str(getattr(err, "reason", err))
            continue
    raise TrainError(f"The dataset could not be downloaded: {last}", EXIT_DATASET)


def read_csv(path: str):
    import pandas as pd

    try:
        frame = pd.read_csv(path, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise TrainError(f"The dataset could not be read as CSV: {err}", EXIT_DATASET) from None
    if frame.shape[1] == 0:
        raise TrainError("The dataset has no columns.", EXIT_DATASET)
    return frame


def scratch_dir() -> str:
    return tempfile.mkdtemp(prefix="insighter-train-")


def remove(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
