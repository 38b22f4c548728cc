"""``python -m assessment`` and the ``assess`` console script.

The CLI is imported inside :func:`run`, so that Ctrl-C while it loads also ends in
``interrupted`` and exit code 130 rather than a traceback. The CLI itself is light (building
the parser imports no pandas or scikit-learn); each command imports the libraries it uses inside
its function, under the CLI's error boundary.
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
