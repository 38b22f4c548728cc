"""The analyst's workbench at portfolio size: a threshold sweep and a backtest, each against the
obvious way of doing the same, measured in the same run.

* sweep: ``assess sweep CMP-GB40879-LIMIT --from 1.1 --to 1.8 --steps 8`` on a candidate list
  of N rows (the sample list repeated; CSV). The engine reads the list and computes the
  indicators once, then re-evaluates the rules per step (``sweep.sweep_rule``). Baseline: what
  an analyst would do without it, ``score_applications`` (read, indicators, rules, model,
  decisions) once per step with the moved threshold. The pass rates of both must agree.
* backtest: ``assess backtest`` on the example history (6,500 loans, the packaged rules and
  model). Baseline: the same rules evaluated loan by loan (``evaluate_rules`` on one-row
  frames, each on its own date), timed on the first 200 loans and extrapolated; its verdicts
  must equal the engine's for those loans.

Usage: ``python bench/bench_workbench.py [--rows N] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_screen  # noqa: E402  (the candidate-list generator of the screening benchmark)

from assessment import score_applications  # noqa: E402
from assessment.criteria.evaluate import FAIL, INSUFFICIENT, PASS, evaluate_rules  # noqa: E402
from assessment.criteria.rules import load_rules  # noqa: E402
from assessment.model.persist import default_model_path, load_model  # noqa: E402
from assessment.model.training import read_table  # noqa: E402
from assessment.workbench.backtest import run_backtest  # noqa: E402
from assessment.workbench.backtest_history import as_of_dates, history_frame, split_assessable  # noqa: E402
from assessment.workbench.sweep import sweep_rule, thresholds, with_threshold  # noqa: E402

AS_OF = dt.date(2025, 6, 30)
RULE_ID = "CMP-GB40879-LIMIT"
HISTORY = HERE.parent / "sample_projects" / "history" / "loan_history.parquet"
LOOP_LOANS = 200


def seconds(task) -> tuple[float, object]:
    start = time.perf_counter()
    result = task()
    return time.perf_counter() - start, result


def candidate_list(folder: Path, rows: int) -> Path:
    sample, width = bench_screen.sample_list(), bench_screen.id_width(rows)
    path = folder / f"workbench-{rows}.csv"
    if not path.exists():
        bench_screen.list_frame(sample, rows, width).to_csv(path, index=False)
    return path


def bench_sweep(path: Path) -> list[tuple[str, str]]:
    values = thresholds(1.1, 1.8, 8)
    engine_s, sweep = seconds(lambda: sweep_rule([path], RULE_ID, values, as_of=AS_OF))
    rule_set = load_rules()
    baseline_s, rates = seconds(lambda: [_scored_rate(path, rule_set, v) for v in values])
    assert np.allclose(sweep.table["pass_rate"], rates), "sweep and baseline disagree"
    return [
        ("sweep, 8 steps, engine s", f"{engine_s:.2f}"),
        ("sweep, 8 steps, baseline (score per step) s", f"{baseline_s:.2f}"),
        ("ratio baseline / engine", f"{baseline_s / engine_s:.1f}x"),
    ]


def _scored_rate(path: Path, rule_set, value: float) -> float:
    scored = score_applications(
        [path], as_of=AS_OF, rules=with_threshold(rule_set, RULE_ID, value), model=None
    )
    codes = scored.evaluation.results[RULE_ID].codes
    applicable = np.isin(codes, (PASS, FAIL, INSUFFICIENT)).sum()
    return round(float((codes == PASS).sum() / applicable), 6)


def bench_backtest() -> list[tuple[str, str]]:
    history, model = read_table(HISTORY), load_model(default_model_path())
    engine_s, _ = seconds(lambda: run_backtest(history, "defaulted", model=model))
    dates = as_of_dates(history, None)
    frame = history_frame(history, dates)
    rule_set, _ = split_assessable(load_rules(), frame)
    loop_s, codes = seconds(lambda: _loan_by_loan(frame, rule_set, dates))
    _check_loop(frame, rule_set, dates, codes)
    baseline_s = loop_s * len(frame) / LOOP_LOANS
    return [
        (f"backtest, {len(frame):,} loans, engine s", f"{engine_s:.2f}"),
        (f"baseline loan by loan s, x {len(frame):,} (extrap.)", f"{baseline_s:.1f}"),
        ("ratio baseline / engine", f"{baseline_s / engine_s:.1f}x"),
    ]


def _loan_by_loan(frame, rule_set, dates) -> list[dict]:
    found = []
    for position in range(LOOP_LOANS):
        evaluation = evaluate_rules(frame.iloc[[position]], rule_set, dates[position])
        found.append({r: int(result.codes[0]) for r, result in evaluation.results.items()})
    return found


def _check_loop(frame, rule_set, dates, codes: list[dict]) -> None:
    for date in sorted(set(dates[:LOOP_LOANS])):
        rows = np.flatnonzero(dates[:LOOP_LOANS] == date)
        evaluation = evaluate_rules(frame.iloc[rows], rule_set, date)
        for i, row in enumerate(rows):
            got = {r: int(result.codes[i]) for r, result in evaluation.results.items()}
            assert got == codes[row], f"loan {frame.index[row]}: verdicts differ"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the swept list")
    parser.add_argument("--keep", type=Path, help="folder to write the list to and reuse")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        rows = bench_sweep(candidate_list(folder, args.rows)) + bench_backtest()
    print(f"Workbench benchmark (as of {AS_OF}; sweep on {args.rows:,} list rows)")
    for name, figure in rows:
        print(f"{name:<55} {figure:>10}")


if __name__ == "__main__":
    main()
