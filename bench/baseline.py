"""The engine as it was before a speed change, measured in the same run as today's.

A benchmark that compares today's code with an earlier revision runs the earlier one from a
copy of that revision's files (``git archive``), imported in a process of its own through
``PYTHONPATH``: the same machine, the same moment, the same inputs. The copy is kept under the
temporary folder by the revision's commit id, so later runs reuse it.

``BEFORE_ISSUE_19`` is the last commit before issue 19's speed work: the "today's code"
baseline of its targets.

Usage in a benchmark::

    from baseline import BEFORE_ISSUE_19, run_python
    seconds = float(run_python(BEFORE_ISSUE_19, "print(measure())", prelude=CODE))
"""

from __future__ import annotations

import io
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE_ISSUE_19 = "4e70352c7a2a5d8bbbd065444de13bdfb3fe8ad6"  # a commit id: clones carry no tags


def commit_of(revision: str) -> str:
    """The commit id of ``revision`` (a tag, branch or id) in this repository."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{revision}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(
            f"baseline revision {revision!r} is not in this repository ({done.stderr.strip()}); "
            "fetch the full history (git fetch --unshallow) or name another with --baseline"
        )
    return done.stdout.strip()


def tree_of(revision: str) -> Path:
    """A folder holding the files of ``revision`` (made once, then reused)."""
    commit = commit_of(revision)
    folder = Path(tempfile.gettempdir()) / f"assess-baseline-{commit[:12]}"
    if not (folder / "assessment" / "__init__.py").is_file():
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
    return folder


def environment(revision: str | None) -> dict:
    """The environment of a process running ``revision`` (None: today's code)."""
    threads = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    env = {**os.environ, **threads}
    if revision is not None:
        env["PYTHONPATH"] = str(tree_of(revision))
    return env


def run_python(revision: str | None, code: str, *args: str, cwd: Path | None = None) -> str:
    """Run ``code`` with ``revision``'s engine (None: today's) in a new Python process and
    return what it printed. ``cwd``: the working folder (by default the revision's files);
    it comes first on ``sys.path``, so it must hold no ``assessment`` package of its own."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=environment(revision),
        cwd=str(cwd or (ROOT if revision is None else tree_of(revision))),  # "" first on sys.path
    )
    if done.returncode:
        raise SystemExit(f"the {revision or 'current'} engine failed:\n{done.stderr[-3000:]}")
    return done.stdout


def machine() -> str:
    """The machine a figure was measured on: cores, CPU model and the load at the moment."""
    model = platform.processor() or ""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next(ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores (os.cpu_count), {model or 'CPU model unknown'}; load {load}"


def in_folder(keep: Path | None, run: Callable[[Path], None]) -> None:
    """``run(folder)`` in ``keep`` (made if need be: the inputs kept for the next run) or in a
    temporary folder removed afterwards."""
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
        run(keep)
        return
    with tempfile.TemporaryDirectory() as folder:
        run(Path(folder))
