"""A unix socket's path as bind and connect can take it.

Linux keeps a socket's path in 108 bytes (with its NUL); a data dir deep
enough makes a longer one. Such a socket is reached through an open
descriptor of its folder instead: `/proc/self/fd/<n>/<name>` names the same
file (the sandbox has its own /proc). Close the descriptor once done.
"""

from __future__ import annotations

import os
from typing import Optional, Tuple

MAX_SOCKET_PATH = 107


def reachable(path: str) -> Tuple[str, Optional[int]]:
    """(a path bind/connect take, the folder's descriptor to close later, or None)."""
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        return path, None
    folder = os.open(os.path.dirname(path) or ".", os.O_RDONLY | os.O_DIRECTORY)
    return f"/proc/self/fd/{folder}/{os.path.basename(path)}", folder
