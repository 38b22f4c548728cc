"""The decision for many projects, and where a 100,000-row screen spends its time, today
beside the code before issue 19 (commit ``4e70352``), both measured in the same run.

Requirements (issue 19): the decision for N projects is computed with array operations over
the verdict table (principal reasons, rule reasons, conditions and data quality included), with
results identical to before; a 100,000-row list is screened in one process in under 4 s. The
decision and the Screening sheet's reason texts of 100,000 projects are given a quarter of that
budget here (1 s): the target of this benchmark.

What is measured, each side in a process of its own (:mod:`baseline`), on the same inputs:

* decide: a CSV list of N rows (default 100,000) made from the sample candidate list
  (``bench_screen.list_frame(sample_list(), N, 6)``) is read and scored once (indicators,
  rules, model), then, each the best of ``--repeats``:
  - ``decide (screen)``: ``decision.decide.decide(..., details=False)`` as a screen runs it
    (no input problems: a screen scores the rows without errors);
  - ``reason texts``: the Screening sheet's reasons of those projects
    (``screening.records.reason_lines``, English);
  - ``decide (details)``: ``decide(..., details=True)`` as ``assess score`` runs it, with the
    input problems (conditions, data quality, missing fields, paths to eligibility), on a list
    of ``--details-rows`` rows (default 10,000).
  Each side prints a SHA-256 digest of what it decided (every decision column both revisions
  give, as JSON) and of the reason texts: the two must be identical.
* stages: ``assess screen LIST -o OUT --as-of 2025-06-30 --jobs 1`` in the library
  (``screening.batch.screen_to_folder``) on the N-row list, once, with the time spent in each
  stage (reading, indicators, the model, the rules, the decision, the result rows, the outputs)
  taken by wrapping the functions the screen calls; ``screen in all`` is the whole call.

Prints the figures side by side with the ratio (before / today; above 1: today is faster), the
targets and whether they are met, and the machine (core count, CPU model, load average at the
start and at the end: the machine may be shared).

Usage: ``python bench/bench_decide.py [--rows N] [--details-rows N] [--repeats K]
[--part all|decide|stages] [--keep DIR] [--baseline REV]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from baseline import BEFORE_ISSUE_19, in_folder, machine, run_python  # noqa: E402

TARGETS = {"screen": 4.0, "decision": 1.0}  # seconds for 100,000 rows

# Runs in a fresh process with either revision's engine: argv = [part, list, repeats, details list].
CHILD = r"""
import datetime as dt, hashlib, importlib, json, sys, tempfile, time

import pandas as pd

import assessment.pipeline as pipeline
from assessment.decision.decide import decide
from assessment.intake.read import PROBLEM_COLUMNS, read_applications
from assessment.model.persist import default_model_path
from assessment.screening.records import Settings, cached_model, cached_rules, reason_lines

AS_OF = dt.date(2025, 6, 30)
SCREEN = ("recommendation", "decision_row", "decision_reason", "decision_reason_zh",
          "label_status", "data_quality_score", "reasons")  # what a screen's rows show
DETAILS = (*SCREEN, "green_label", "conditions", "data_quality", "missing_for_decision",
           "path_to_eligibility")


def best(repeats, call):
    found = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        found.append(time.perf_counter() - start)
    return min(found), result


def digest(value):
    text = json.dumps(value, default=str, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def decided(frame, columns):
    return digest({c: frame[c].tolist() for c in columns})


def scored(path):
    applications = read_applications([path], as_of=AS_OF)
    model = cached_model(str(default_model_path()))
    return pipeline.score_read(
        applications, as_of=AS_OF, rules=cached_rules(None), model=model, details=False
    )


def measure_decide(path, repeats, details_path):
    found = scored(path)
    none = pd.DataFrame(columns=PROBLEM_COLUMNS)  # a screen decides the rows without errors
    screen, result = best(repeats, lambda: decide(found.evaluation, found.predictions, none,
                                                  details=False))
    texts, lines = best(repeats, lambda: reason_lines(found, "en"))
    texts_zh, lines_zh = best(repeats, lambda: reason_lines(found, "zh"))
    few = scored(details_path)
    args = (few.evaluation, few.predictions, few.applications.problems)
    details, full = best(repeats, lambda: decide(*args, details=True))
    return {
        "projects": len(found.frame),
        "details projects": len(few.frame),
        "seconds": {"decide (screen)": screen, "reason texts": texts,
                    "reason texts (zh)": texts_zh, "decide (details)": details},
        "digests": {"decide (screen)": decided(result, SCREEN), "reason texts": digest(lines),
                    "reason texts (zh)": digest(lines_zh),
                    "decide (details)": decided(full, DETAILS)},
    }


STAGES = {  # stage -> where the screen finds the function: the first (module, name) there is
    "read": [("assessment.screening.run", "read_records")],
    "indicators": [("assessment.pipeline", "add_indicators")],
    "model": [("assessment.pipeline", "predict"), ("assessment.model.predict", "predict")],
    "rules": [("assessment.pipeline", "evaluate_rules")],
    "decision": [("assessment.pipeline", "decide")],
    "result rows": [("assessment.screening.records", "result_rows")],
    "outputs": [("assessment.screening.batch", "write_screening_outputs")],
}


def wrapped(spent, stage, function):
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[stage] = spent.get(stage, 0.0) + time.perf_counter() - start
    return timed


def measure_stages(path, repeats, details_path):
    from assessment.screening.batch import screen_to_folder

    spent = {}
    for stage, places in STAGES.items():
        for module, name in places:
            module = importlib.import_module(module)
            if hasattr(module, name):
                setattr(module, name, wrapped(spent, stage, getattr(module, name)))
                break
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        screen_to_folder([path], out, Settings(as_of=AS_OF), jobs=1)
        spent["screen in all"] = time.perf_counter() - start
    return {"seconds": spent}


part, path, repeats, details_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
measure = measure_decide if part == "decide" else measure_stages
print(json.dumps(measure(path, repeats, details_path)))
"""


def make_list(folder: Path, rows: int) -> Path:
    """The CSV list of ``rows`` rows (reused when present)."""
    path = folder / f"list{rows}.csv"
    if not path.is_file():
        import bench_screen

        bench_screen.list_frame(bench_screen.sample_list(), rows, 6).to_csv(path, index=False)
    return path


def measured(revision: str | None, part: str, lists: tuple[Path, Path], repeats: int) -> dict:
    argv = (part, str(lists[0]), str(repeats), str(lists[1]))
    return json.loads(run_python(revision, CHILD, *argv))


def table(title: str, today: dict, before: dict) -> None:
    print(f"\n{title}")
    print(f"{'':<20}{'today s':>10}{'before s':>10}{'before/today':>14}")
    for key in [
        *(k for k in before if k != "screen in all"),
        *(k for k in today if k not in before),
    ]:
        _line(key, today.get(key), before.get(key))
    if "screen in all" in before:
        _line("screen in all", today.get("screen in all"), before["screen in all"])


def _line(key: str, now: float | None, then: float | None) -> None:
    ratio = f"{then / now:.2f}x" if now and then else "-"
    print(f"{key:<20}{_seconds(now):>10}{_seconds(then):>10}{ratio:>14}")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def verdict(what: str, seconds: float, target: float, rows: int) -> None:
    scaled = seconds * 100_000 / rows
    met = "met" if scaled < target else "not met"
    note = "" if rows == 100_000 else f" (at {rows:,} rows; {scaled:.2f} s scaled to 100,000)"
    print(f"target: {what} of 100,000 rows under {target} s -> {met}: {seconds:.2f} s{note}")


def decide_part(args: argparse.Namespace, lists: tuple[Path, Path]) -> None:
    today = measured(None, "decide", lists, args.repeats)
    before = measured(args.baseline, "decide", lists, args.repeats)
    title = (
        f"the decision of {today['projects']:,} projects, details of "
        f"{today['details projects']:,} (best of {args.repeats})"
    )
    table(title, today["seconds"], before["seconds"])
    for key, value in today["digests"].items():
        same = "identical" if value == before["digests"].get(key) else "DIFFERENT"
        print(f"{key}: {same} to before (sha256 {value} / {before['digests'].get(key)})")
    seconds = today["seconds"]["decide (screen)"] + today["seconds"]["reason texts"]
    verdict("the decision and reason texts", seconds, TARGETS["decision"], today["projects"])


def stages_part(args: argparse.Namespace, lists: tuple[Path, Path]) -> None:
    today = measured(None, "stages", lists, 1)["seconds"]
    before = measured(args.baseline, "stages", lists, 1)["seconds"]
    table(f"assess screen of {args.rows:,} rows, --jobs 1, by stage", today, before)
    verdict("a screen in one process", today["screen in all"], TARGETS["screen"], args.rows)


def run(args: argparse.Namespace, folder: Path) -> None:
    print(f"machine: {machine()}")
    lists = (make_list(folder, args.rows), make_list(folder, args.details_rows))
    print(f"lists: {lists[0]} ({args.rows:,} rows), {lists[1]} ({args.details_rows:,} rows)")
    print(f"baseline: {args.baseline}, run from its own files in a process of its own")
    if args.part in ("all", "decide"):
        decide_part(args, lists)
    if args.part in ("all", "stages"):
        stages_part(args, lists)
    print(f"\nmachine at the end: {machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--details-rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--part", choices=("all", "decide", "stages"), default="all")
    parser.add_argument("--keep", type=Path, help="keep the generated lists in this folder")
    parser.add_argument("--baseline", default=BEFORE_ISSUE_19, help="the revision to compare")
    args = parser.parse_args()
    in_folder(args.keep, lambda folder: run(args, folder))


if __name__ == "__main__":
    main()
