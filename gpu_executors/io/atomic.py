"""The one way artefacts are written: a temp file beside the target, fsync, rename.

A failed or killed writer therefore never leaves a half-written file where the previous good one
was; readers see either the old file or the new one. The temp name keeps the target's suffix,
because some libraries (xgboost) choose their format from it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temp file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: str | os.PathLike[str], obj: object, sort_keys: bool = True) -> Path:
    """``obj`` as indented JSON (non-JSON values by ``str``), written atomically."""
    text = json.dumps(obj, indent=1, sort_keys=sort_keys, default=str) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
