"""The risk model's speed: predictions with reason codes for 100,000 rows and training on
100,000 loans, today beside the code before issue 19 (commit ``4e70352``), both measured in
the same run.

Requirements (issue 19): tree reason codes computed for all rows with vectorised tree
traversal, with the same numbers as before (to 1e-9); training on 100,000 loans under 20 s.

What is measured, each side in a process of its own (:mod:`baseline`), on the same inputs:

* predict: the model's inputs of a candidate list of N rows (default 100,000; the list of
  ``bench_screen.list_frame(sample_list(), N, 6)``, read and turned into indicators once by
  today's engine, with its structurally absent features) scored as ``assess screen`` scores
  them: ``predict(model, chunk, absent=...)`` on chunks of 25,000 rows, the packaged model;
  the best of ``--repeats`` after one warm-up call. ``one row``: ``predict`` of the first row
  alone, the median of 50 calls. Both sides' predictions are compared: PDs and reason
  contributions to 1e-9, every other cell (grade, reason features and values, missing and
  absent features) equal.
* train: ``assess train LOANS.parquet --target defaulted -o model.skops`` as a whole process
  (start-up, training, model card, scorecard workbook and PDF; wall clock) on N loans
  (default 100,000) drawn by ``sample_projects/history/generate.py`` (``simulate(n=N)``,
  written as the example history is). Both sides' artefacts are compared by SHA-256 (the
  same model, to the byte, when both run on the same day).

Targets: predict of 100,000 rows under 1.5 s (the model's share of the 4 s screen of issue
19: before, it was about 40 % of the 11.8 s screen), one row under 5 ms (a fifth of the 25 ms
of one application); training under 20 s; the same numbers. Each figure is printed with the
baseline's, the ratio (before / today: above 1, today is faster) and the machine (cores, CPU
model, load average at the start and the end: the machine may be shared).

Usage: ``python bench/bench_predict.py [--part all|predict|train] [--rows N] [--loans N]
[--repeats K] [--keep DIR] [--baseline REV]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import pickle
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from baseline import BEFORE_ISSUE_19, environment, in_folder, machine, run_python, tree_of  # noqa: E402

AS_OF = dt.date(2025, 6, 30)
CHUNK = 25_000  # rows per chunk of assess screen (screening.batch rows_per_chunk)
TARGETS = {"predict": 1.5, "one row ms": 5.0, "train": 20.0}

# Runs in a fresh process with either revision's engine: argv = [inputs, output, repeats].
CHILD = r"""
import pickle, statistics, sys, time
import pandas as pd
from assessment.model.persist import load_model
from assessment.model.predict import predict

frame, absent = pickle.load(open(sys.argv[1], "rb"))
repeats, chunk = int(sys.argv[3]), int(sys.argv[4])
model = load_model()
predict(model, frame.iloc[:100], absent=absent.iloc[:100])  # warm: first calls, caches


def scored():
    return pd.concat([
        predict(model, frame.iloc[i : i + chunk], absent=absent.iloc[i : i + chunk])
        for i in range(0, len(frame), chunk)
    ])


runs = []
for _ in range(repeats):
    start = time.perf_counter()
    result = scored()
    runs.append(time.perf_counter() - start)
one, one_absent, calls = frame.iloc[:1], absent.iloc[:1], []
for _ in range(50):
    start = time.perf_counter()
    predict(model, one, absent=one_absent)
    calls.append(time.perf_counter() - start)
found = {"runs": runs, "one row ms": 1000 * statistics.median(calls), "result": result}
pickle.dump(found, open(sys.argv[2], "wb"))
"""


# --- inputs ---------------------------------------------------------------------------------


def model_inputs(folder: Path, rows: int) -> Path:
    """The model's inputs and structurally absent features of the N-row list (made once)."""
    path = folder / f"model_inputs{rows}.pkl"
    if path.is_file():
        return path
    import bench_screen

    from assessment import add_indicators, read_applications
    from assessment.criteria.absence import structural_absence
    from assessment.model.persist import load_model

    listed = folder / f"list{rows}.csv"
    bench_screen.list_frame(bench_screen.sample_list(), rows, 6).to_csv(listed, index=False)
    applications = read_applications([listed], as_of=AS_OF)
    frame = add_indicators(applications.projects, applications.yearly, AS_OF)
    features = load_model().features
    path.write_bytes(pickle.dumps((frame[features], structural_absence(frame))))
    return path


def loans(folder: Path, count: int) -> Path:
    """``count`` synthetic loans, drawn and written as the example history is (made once)."""
    path = folder / f"loans{count}.parquet"
    if not path.is_file():
        sys.path.insert(0, str(ROOT / "sample_projects" / "history"))
        import generate

        generate.write(generate.simulate(n=count), path)
    return path


# --- measuring ------------------------------------------------------------------------------


def predicted(revision: str | None, inputs: Path, repeats: int, folder: Path) -> dict:
    output = folder / f"predicted_{revision or 'today'}.pkl"
    run_python(revision, CHILD, str(inputs), str(output), str(repeats), str(CHUNK))
    return pickle.loads(output.read_bytes())


def trained(revision: str | None, data: Path, folder: Path) -> tuple[float, str]:
    """(wall seconds, the artefact's SHA-256) of ``assess train`` with ``revision``'s engine."""
    output = folder / f"model_{revision or 'today'}" / "model.skops"
    command = [sys.executable, "-m", "assessment", "train", str(data), "--target", "defaulted"]
    start = time.perf_counter()
    done = subprocess.run(
        [*command, "-o", str(output), "-q"],
        capture_output=True,
        text=True,
        env=environment(revision),
        cwd=str(ROOT if revision is None else tree_of(revision)),
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"assess train ({revision or 'today'}) failed:\n{done.stderr[-3000:]}")
    return seconds, hashlib.sha256(output.read_bytes()).hexdigest()


def differences(today, before) -> list[str]:
    """What differs between two prediction frames: numbers beyond 1e-9, other cells."""
    import numpy as np

    if list(today.columns) != list(before.columns) or not today.index.equals(before.index):
        return ["the columns or rows differ"]
    found = []
    for name in today.columns:
        new, old = today[name], before[name]
        if new.dtype.kind == "f":
            gap = np.nanmax(np.abs(new.to_numpy() - old.to_numpy()), initial=0.0)
            if gap > 1e-9 or not new.isna().equals(old.isna()):
                found.append(f"{name}: max |difference| {gap:.1e}")
        elif new.tolist() != old.tolist() and not new.fillna("").equals(old.fillna("")):
            found.append(f"{name}: {int((new.astype(str) != old.astype(str)).sum())} cells")
    return found


# --- report ---------------------------------------------------------------------------------


def line(label: str, today: float, before: float, target: float, unit: str) -> None:
    verdict = "met" if today < target else "NOT met"
    print(
        f"{label:<34}{today:>10.3f}{before:>10.3f}{before / today:>9.2f}x"
        f"   < {target:g} {unit}: {verdict}"
    )


def header(title: str, unit: str) -> None:
    print(f"\n{title}")
    print(f"{'':<34}{'today ' + unit:>10}{'before ' + unit:>10}{'ratio':>10}   target")


def predict_part(args: argparse.Namespace, folder: Path) -> None:
    inputs = model_inputs(folder, args.rows)
    today = predicted(None, inputs, args.repeats, folder)
    before = predicted(args.baseline, inputs, args.repeats, folder)
    rows = len(today["result"])
    header(f"predict, {rows:,} rows in chunks of {CHUNK:,} (best of {args.repeats})", "s")
    scale = 100_000 / rows
    line("PD, grade, reasons (per 100,000)", *(min(s["runs"]) * scale for s in (today, before)),
         TARGETS["predict"], "s")  # fmt: skip
    header("predict, one row (median of 50 calls)", "ms")
    line("PD, grade, reasons", today["one row ms"], before["one row ms"], TARGETS["one row ms"],
         "ms")  # fmt: skip
    found = differences(today["result"], before["result"])
    print("same numbers as before (1e-9) and the same cells:", "met" if not found else "NOT met")
    for problem in found:
        print(f"  {problem}")


def train_part(args: argparse.Namespace, folder: Path) -> None:
    data = loans(folder, args.loans)
    today, today_sha = trained(None, data, folder)
    before, before_sha = trained(args.baseline, data, folder)
    header(f"assess train, {args.loans:,} loans, whole process (wall clock)", "s")
    line("train, card, scorecard", today, before, TARGETS["train"], "s")
    same = "the same" if today_sha == before_sha else "DIFFERENT"
    print(f"artefact: {same} (sha256 {today_sha[:12]} / {before_sha[:12]})")


def run(args: argparse.Namespace, folder: Path) -> None:
    print(f"machine: {machine()}")
    print(f"baseline: {args.baseline}, run from its own files in a process of its own")
    if args.part in ("all", "predict"):
        predict_part(args, folder)
    if args.part in ("all", "train"):
        train_part(args, folder)
    print(f"\nmachine at the end: {machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("all", "predict", "train"), default="all")
    parser.add_argument("--rows", type=int, default=100_000, help="rows to predict")
    parser.add_argument("--loans", type=int, default=100_000, help="loans to train on")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the generated inputs in this folder")
    parser.add_argument("--baseline", default=BEFORE_ISSUE_19, help="the revision to compare")
    args = parser.parse_args()
    in_folder(args.keep, lambda folder: run(args, folder))


if __name__ == "__main__":
    main()
