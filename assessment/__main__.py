"""``python -m assessment`` and the ``assess`` console script.

The CLI module is imported inside :func:`run`, so that Ctrl-C while the libraries load also
ends in ``interrupted`` and exit code 130 rather than a traceback.
"""

from __future__ import annotations

import sys


def run() -> None:
    """Import the CLI and run it; exit with its code."""
    try:
        from .cli import main
    except KeyboardInterrupt:
        print("assess: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())


if __name__ == "__main__":
    run()
