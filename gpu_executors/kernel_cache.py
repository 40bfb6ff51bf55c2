"""Where compiled kernels live between processes, and the key that keeps them fresh.

numba's on-disk cache (``cache=True``) drops an entry only when the file of the cached function
itself changes: a kernel that inlined a generator from another module would be served stale after
that module changed. So every entry lives in a folder named after a digest of all of
``gpu_executors``' sources and the Python version; any source change starts a new folder, and a
folder is only ever read by the code that wrote it.

The folder is under the user's cache folder (``SEEDSIEVE_KERNEL_CACHE`` overrides it), never
beside the sources, so a read-only install works. When that folder cannot be written either, a
per-user folder in the temporary directory is used: nothing fails, though the kernels may not
outlive the next reboot.
:func:`configure` points numba there (``NUMBA_CACHE_DIR``) and must run before numba is imported,
which ``gpu_executors/__init__.py`` does.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ENV_ROOT = "SEEDSIEVE_KERNEL_CACHE"
PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class KernelCache:
    """The folder this code's kernels are cached in, and why it is that one."""

    root: Path  # holds one folder per key
    key: str  # Python version and source digest
    fallback: str | None = None  # why the preferred root was not used

    @property
    def folder(self) -> Path:
        return self.root / self.key

    @property
    def modules(self) -> Path:
        """Generated kernel modules (see ``gpu_executors.specialise``)."""
        return self.folder / "modules"

    def stale_folders(self) -> list[Path]:
        """Folders under the root written by other versions of the code."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_dir() and p.name != self.key)


def source_digest(package_dir: Path = PACKAGE_DIR) -> str:
    """SHA-256 over every source file of the package: names and contents, in a fixed order."""
    h = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        h.update(path.relative_to(package_dir).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def cache_key() -> str:
    """The Python version and the source digest (numba checks its own version per entry)."""
    return f"py{sys.version_info.major}{sys.version_info.minor}-{source_digest()[:16]}"


def preferred_root() -> Path:
    """``SEEDSIEVE_KERNEL_CACHE``, else ``kernels`` in the user's cache folder."""
    explicit = os.environ.get(ENV_ROOT)
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("seedsieve")) / "kernels"


def _writable(folder: Path) -> str | None:
    """None if files can be created in ``folder`` (created if need be), else why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as exc:
        return f"{folder}: {exc.strerror or exc}"
    return None


@cache
def locate() -> KernelCache:
    """The cache for this code, in the preferred root or the temporary-directory fallback."""
    key = cache_key()
    root = preferred_root()
    why = _writable(root / key)
    if why is None:
        return KernelCache(root, key)
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    fallback = Path(tempfile.gettempdir()) / f"seedsieve-kernels-{uid}"
    if _writable(fallback / key) is None:
        return KernelCache(fallback, key, fallback=f"not writable: {why}")
    private = Path(tempfile.mkdtemp(prefix="seedsieve-kernels-"))
    return KernelCache(private, key, fallback=f"not writable: {why}; nor {fallback}")


def configure() -> KernelCache:
    """Point numba's on-disk cache at this code's folder (before numba compiles anything)."""
    found = locate()
    folder = str(found.folder)
    os.environ["NUMBA_CACHE_DIR"] = folder
    numba_config = sys.modules.get("numba.core.config")
    if numba_config is not None:  # numba was imported first: its config has read the old value
        numba_config.CACHE_DIR = folder
    return found
