"""The floor of a screen: a plain pandas pipeline that reads the same CSV list and applies the
same rules without decisions, beside ``assess screen`` of that list, both measured in the same
run, each in a process of its own.

Issue 19's target for a 100,000-row list (under 4 s in one process) names two baselines:
today's code (``bench_decide.py --part stages``, against the engine before issue 19) and this
floor. What the floor does, on the list ``bench_screen.list_frame(sample_list(), N, 6)``
(default N = 100,000, the list of ``bench_decide.py``):

* ``read_csv``: ``pandas.read_csv`` of the file (the C parser, types guessed by pandas);
* ``typed``: each column found by the engine's header matching (the header row only), numbers
  by ``pd.to_numeric(errors="coerce")`` times their unit's factor, enumerations and yes/no
  looked up once per distinct value, dates by ``pd.to_datetime(errors="coerce")``, the
  ``revenue_cny_2023``-style columns melted into the long yearly table. A messy cell the engine
  reads ("1,200", "2020年6月") is missing here, and nothing is validated or reported;
* ``indicators`` and ``rules``: the engine's own ``add_indicators`` and ``evaluate_rules``
  (every rule of the shipped packs, vectorised, with the verdict table), as a screen runs them.

No risk model, no decision, no reasons, no result rows and no output files: that is the floor.
The screen is ``screening.batch.screen_to_folder([LIST], OUT, Settings(as_of), jobs=1)`` (what
``assess screen LIST -o OUT --as-of 2025-06-30 --jobs 1`` does) with every output written.
The share of the rule verdicts the floor gives that equal the screen's says how close the floor
is to the same work (it misses the messy cells).

Prints the seconds of each part, the screen beside the floor as a ratio (screen / floor), the
target and the machine (cores, CPU, load average at the start and the end).

Usage: ``python bench/bench_floor.py [--rows N] [--repeats K] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from baseline import in_folder, machine, run_python  # noqa: E402
from bench_decide import TARGETS, make_list  # noqa: E402

AS_OF = "2025-06-30"

# argv = [list, repeats, verdicts.parquet]: the floor, the best of ``repeats``.
FLOOR = r"""
import datetime as dt, json, sys, time

import numpy as np
import pandas as pd

from assessment.criteria.evaluate import evaluate_rules
from assessment.criteria.indicators import PROJECT_COLUMNS, add_indicators
from assessment.criteria.rules import load_rules
from assessment.intake.cells import BadValue, parse_bool, resolve_unit
from assessment.intake.dictionary import load_dictionary
from assessment.intake.layouts import classify
from assessment.intake.workbooks import Sheet

AS_OF = dt.date.fromisoformat(sys.argv[4])
NUMBERS = ("number", "integer", "fraction", "series")
MISSING = {"text": "string", "choice": "string", "bool": "boolean", "date": "datetime64[ns]"}


def looked_up(column, find):
    # each distinct value once; None where it is not one
    distinct = column.dropna().unique()
    return column.map(dict(zip(distinct, map(find, distinct))))


def yes_no(value):
    try:
        return parse_bool(value)
    except BadValue:
        return None


def typed(raw, dictionary):
    _, _, headers = classify(Sheet("list", [list(raw.columns)]), dictionary)
    columns, yearly = {}, []
    for name, header in zip(raw.columns, headers):
        if header is None or header.field is None:
            continue
        field = dictionary.fields[header.field]
        column = raw[name]
        if field.type in NUMBERS:
            unit = resolve_unit("", header.unit, field, dictionary)
            factor = unit.factor.numerator / unit.factor.denominator
            values = pd.to_numeric(column, errors="coerce").astype(float) * factor
            if header.year is not None:
                yearly.append(pd.DataFrame({"row": np.arange(len(raw)), "year": header.year,
                                            "series": header.field, "value": values}))
                continue
            columns[header.field] = values
        elif field.type == "choice":
            columns[header.field] = looked_up(
                column, lambda v, f=field: dictionary.choice_code(f.choices, v))
        elif field.type == "bool":
            columns[header.field] = looked_up(column, yes_no).astype("boolean")
        elif field.type == "date":
            columns[header.field] = pd.to_datetime(column, errors="coerce", format="%Y-%m-%d")
        else:
            columns[header.field] = column.astype("string").str.strip()
    fields = [name for name, field in dictionary.fields.items() if field.type != "series"]
    for name in dict.fromkeys([*fields, *PROJECT_COLUMNS]):  # absent: missing in every row
        if name not in columns:
            columns[name] = pd.Series(None, index=raw.index, dtype=MISSING.get(
                dictionary.fields[name].type if name in dictionary.fields else "", "float"))
    projects = pd.DataFrame(columns).set_index("project_id")
    long = pd.concat(yearly, ignore_index=True).dropna(subset=["value"])
    long.insert(0, "project_id", projects.index.to_numpy()[long.pop("row").to_numpy()])
    return projects, long


def floor(path, dictionary, rules):
    spent = {}
    start = time.perf_counter()
    raw = pd.read_csv(path)
    spent["read_csv"] = time.perf_counter() - start
    projects, yearly = typed(raw, dictionary)
    spent["typed"] = time.perf_counter() - start - sum(spent.values())
    frame = add_indicators(projects, yearly, AS_OF, reference_dir=rules.reference_dir)
    spent["indicators"] = time.perf_counter() - start - sum(spent.values())
    evaluation = evaluate_rules(frame, rules, AS_OF)
    spent["rules"] = time.perf_counter() - start - sum(spent.values())
    spent["floor in all"] = time.perf_counter() - start
    return spent, evaluation


path, repeats, verdicts = sys.argv[1], int(sys.argv[2]), sys.argv[3]
dictionary, rules = load_dictionary(), load_rules(None)  # loaded once, as a screen does
runs = [floor(path, dictionary, rules) for _ in range(repeats)]
spent, evaluation = min(runs, key=lambda run: run[0]["floor in all"])
frame = evaluation.verdicts
frame.rename_axis("project_id").reset_index().astype(str).to_parquet(verdicts)
print(json.dumps({"seconds": spent, "projects": len(frame)}))
"""

# argv = [list, out folder, verdicts.parquet, as_of]: assess screen --jobs 1, once.
SCREEN = r"""
import datetime as dt, json, sys, time

start = time.perf_counter()
from assessment.screening.batch import screen_to_folder
from assessment.screening.records import Settings
imported = time.perf_counter() - start

path, out, verdicts, as_of = sys.argv[1:5]
start = time.perf_counter()
screening, _ = screen_to_folder([path], out, Settings(as_of=as_of), jobs=1)
seconds = time.perf_counter() - start
rules = [rule.rule_id for rule in screening.rules.rules]
screening.results[["project_id", *rules]].astype(str).to_parquet(verdicts)
print(json.dumps({"seconds": {"imports": imported, "screen in all": seconds},
                  "projects": len(screening.results)}))
"""


def same_verdicts(floor_file: Path, screen_file: Path) -> tuple[float, int]:
    """The share of (project, rule) verdicts of the floor equal to the screen's, over the
    projects both scored, and how many projects that is."""
    import pandas as pd

    floor = pd.read_parquet(floor_file).set_index("project_id")
    screen = pd.read_parquet(screen_file).set_index("project_id")
    both = floor.index.intersection(screen.index)
    rules = [rule for rule in floor.columns if rule in screen.columns]
    same = floor.loc[both, rules].to_numpy() == screen.loc[both, rules].to_numpy()
    return float(same.mean()) if same.size else float("nan"), len(both)


def run(args: argparse.Namespace, folder: Path) -> None:
    print(f"machine: {machine()}")
    path = make_list(folder, args.rows)
    print(f"list: {path} ({args.rows:,} rows); as of {AS_OF}")
    floor_file, screen_file = folder / "floor.parquet", folder / "screen.parquet"
    argv = (str(path), str(args.repeats), str(floor_file), AS_OF)
    floor = json.loads(run_python(None, FLOOR, *argv))
    out = folder / "screening"
    screen = json.loads(run_python(None, SCREEN, str(path), str(out), str(screen_file), AS_OF))
    print(f"\nthe floor (plain pandas + the engine's rules), best of {args.repeats}:")
    for part, seconds in floor["seconds"].items():
        print(f"  {part:<16}{seconds:8.3f} s")
    total = screen["seconds"]["screen in all"]
    print(f"\nassess screen --jobs 1 (every output written), once: {total:.3f} s")
    print(f"  (its imports before the call: {screen['seconds']['imports']:.3f} s)")
    ratio = total / floor["seconds"]["floor in all"]
    print(f"screen / floor: {ratio:.2f}x")
    share, both = same_verdicts(floor_file, screen_file)
    print(
        f"verdicts of the floor equal to the screen's: {share:.2%} of {both:,} projects "
        f"(floor {floor['projects']:,}, screen {screen['projects']:,} projects)"
    )
    scaled = total * 100_000 / args.rows
    met = "met" if scaled < TARGETS["screen"] else "not met"
    note = "" if args.rows == 100_000 else f", scaled from {args.rows:,} rows"
    target = f"a screen of 100,000 rows under {TARGETS['screen']} s"
    print(f"target: {target} -> {met} ({scaled:.2f} s{note})")
    print(f"\nmachine at the end: {machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the floor (best kept)")
    parser.add_argument("--keep", type=Path, help="keep the list and outputs in this folder")
    args = parser.parse_args()
    in_folder(args.keep, lambda folder: run(args, folder))


if __name__ == "__main__":
    main()
