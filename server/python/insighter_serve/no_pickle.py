"""Unpickling forbidden in this process, and proof that nothing tried.

A worker serving a model from its safe format (`--loader json`) must never
unpickle: numpy and pandas import the `pickle` module themselves, so its
presence in `sys.modules` proves nothing. What can run code is an unpickler
resolving a global (`find_class`, behind pickle.load/loads, joblib.load,
cloudpickle and every `Unpickler`), and Python announces each one as the
audit event `pickle.find_class`. The hook refuses it (the load fails) and
counts it, and `/metadata` reports the count.
"""

from __future__ import annotations

import sys

_refused = []


def forbid_unpickling() -> None:
    def hook(event: str, args) -> None:
        if event == "pickle.find_class":
            _refused.append(f"{args[0]}.{args[1]}")
            raise RuntimeError(f"unpickling is forbidden in this worker (it asked for {args[0]}.{args[1]})")

    sys.addaudithook(hook)


def refused_unpickling() -> int:
    """How many globals an unpickler asked for (and was refused) in this process."""
    return len(_refused)
