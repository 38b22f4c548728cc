"""Writing output files safely: under a temporary name in the target folder, then renamed."""

from __future__ import annotations

import os
from pathlib import Path


def publish(temporary: str | Path, path: str | Path) -> Path:
    """Give ``temporary`` (made by ``tempfile.mkstemp``, so readable by its owner only) the
    permissions a new file gets under the user's umask, and rename it onto ``path``."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(temporary, 0o666 & ~mask)
    os.replace(temporary, path)
    return Path(path)
