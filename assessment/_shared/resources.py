"""Where the packaged data folders (``rules/`` and ``templates/``) live.

In a source checkout or an editable install they sit beside the package; in a wheel they are
shipped inside it as ``assessment/_data/<name>``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # assessment/


@cache
def data_dir(name: str) -> Path:
    """Return the packaged data folder ``name`` (``"rules"`` or ``"templates"``), looked for
    once per process (the memo asks for it some 200 times)."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"packaged data folder {name!r} not found beside {_PACKAGE}")
