"""Writing output files safely: under a temporary name in the target folder, then renamed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write`` on a temporary file beside ``path`` (its folder made if need be), then
    :func:`publish` it onto ``path``; on any failure the temporary file is removed and
    ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        publish(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def publish(temporary: str | Path, path: str | Path) -> Path:
    """Give ``temporary`` (made by ``tempfile.mkstemp``, so readable by its owner only) the
    permissions a new file gets under the user's umask, and rename it onto ``path``."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(temporary, 0o666 & ~mask)
    os.replace(temporary, path)
    return Path(path)
