"""Rule evaluation speed: every rule pack on N synthetic projects, against a per-record loop.

Requirement: evaluating 40 rules (the shipped packs plus synthetic ones) on 1,000,000 projects
takes under 3 seconds on two cores with peak memory under 4 GiB, and is at least 20 times faster
than a per-record Python loop over the same rules measured in the same run; all shipped packs on
a single project, in a running process, take under 25 ms.

What is measured, in one script run, on the same seeded data and the same rules:

* rules: ``assessment.criteria.rules.load_rules()`` (all shipped packs); when they hold fewer than
  ``--min-rules`` (40) rules, synthetic ones are added from a temporary pack folder.
* data: N projects with every field and indicator the rules name (float64 numbers spread
  around the rules' thresholds, pandas ``boolean``, ``string`` codes from the catalogue,
  datetime64 dates), about 5 % missing per column, index ``project_id``.
* vectorised: ``assessment.criteria.evaluate.evaluate_rules(frame, rules, 2025-06-30)`` on all N,
  programme results included, best of 3, in a child process (this script with ``--child``)
  whose peak resident memory (``ru_maxrss``, data generation included) is reported.
* baseline: a per-record Python loop (one dict per project, a scalar three-valued evaluator of
  ``applies_when``, first matching segment row, one verdict string per rule; no points, scores
  or grades, i.e. less work than the engine) timed on the first 20,000 projects and
  extrapolated linearly to N; its verdicts must equal the vectorised ``evaluation.verdicts``
  for those projects, rule by rule.
* single project: ``evaluate_rules`` on a one-row frame, after one warm-up call, median of 50
  calls; ``load_rules()`` is timed once and reported apart.

Usage: ``python bench/bench_rules.py [--projects N] [--min-rules K]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from assessment.criteria import conditions
from assessment.criteria.evaluate import VERDICTS, evaluate_rules
from assessment.criteria.indicators import INDICATORS
from assessment.criteria.rules import RULE_COLUMNS, RuleSet, load_rules, metric_catalogue
from assessment.intake.dictionary import load_dictionary

TARGET_PROJECTS = 1_000_000
TARGET_SECONDS = 3.0
TARGET_RATIO = 20.0
TARGET_GIB = 4.0
TARGET_MS = 25.0
MIN_RULES = 40
AS_OF = dt.date(2025, 6, 30)
REPEATS = 3
SAMPLE = 20_000
SINGLE_CALLS = 50
MISSING_SHARE = 0.05
SEED = 0
UNDECIDED = object()  # a segment key is missing before any row matched
# Synthetic rules (used only when the shipped packs hold fewer than --min-rules):
# programme, metric, operator, threshold, applies_when, severity, weight.
SYNTHETIC = (
    ("green", "pue_assessed", "<=", "1.4", "hub_zone == east", "score", "5"),
    ("credit", "dscr_min", ">=", "1.1", "", "gate", ""),
    ("reit", "operating_years", "between", "2;10", "asset_rights == ownership", "flag", ""),
    ("green_credit", "facility_type", "not_in", "edge", "racks > 100", "gate", ""),
    ("credit", "leverage", "<", "0.75", "not (financing_purpose == construction)", "flag", ""),
)


# --- rules ---------------------------------------------------------------------------------


def synthetic_rows(count: int) -> list[dict[str, str]]:
    """``count`` rule rows cycling through SYNTHETIC, ids SYN-001 ..."""
    rows = []
    for number in range(1, count + 1):
        programme, metric, op, threshold, when, severity, weight = SYNTHETIC[
            (number - 1) % len(SYNTHETIC)
        ]
        row = dict.fromkeys(RULE_COLUMNS, "")
        row.update(rule_id=f"SYN-{number:03d}", programme=programme, applies_when=when)
        row.update(metric=metric, operator=op, threshold=threshold, severity=severity)
        row.update(weight=weight, source="SYN", confidence="unverified")
        row.update(title_en=f"Synthetic rule {number}", title_zh=f"合成规则{number}")
        rows.append(row)
    return rows


def write_synthetic_pack(folder: Path, count: int) -> None:
    """A pack folder in the documented format (pack.yaml + rules.csv) with ``count`` rules."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pack.yaml").write_text(
        "id: synthetic_bench\ntitle_en: Synthetic benchmark rules\ntitle_zh: 基准测试合成规则\n"
        'version: "0"\nsources:\n  - id: SYN\n    title: bench_rules.py\n'
        "    confidence: unverified\n",
        encoding="utf-8",
    )
    pd.DataFrame(synthetic_rows(count), columns=RULE_COLUMNS).to_csv(
        folder / "rules.csv", index=False
    )


def bench_rules(min_rules: int) -> tuple[RuleSet, RuleSet, float]:
    """(shipped packs, rules to measure, seconds of the first load_rules()): the shipped
    packs, plus a synthetic pack when they hold fewer than ``min_rules`` rules."""
    start = time.perf_counter()
    shipped = load_rules()
    load_s = time.perf_counter() - start
    missing = max(0, min_rules - len(shipped.rules))
    if not missing:
        return shipped, shipped, load_s
    with tempfile.TemporaryDirectory(prefix="bench_rules_") as scratch:
        write_synthetic_pack(Path(scratch) / "synthetic_bench", missing)
        extra = load_rules(Path(scratch) / "synthetic_bench")
    return shipped, RuleSet(shipped.packs + extra.packs), load_s


# --- data ----------------------------------------------------------------------------------


def used_metrics(rules: RuleSet) -> list[str]:
    """Every field or indicator a rule reads: metric, condition tests and segment keys."""
    names: set[str] = set()
    for rule in rules.rules:
        names.add(rule.metric)
        names.update(test.name for test in conditions.names(rule.condition))
        if rule.segment is not None:
            names.update(column for column in rule.segment.columns if column != "threshold")
    return sorted(names)


def _numbers(values: object) -> list[float]:
    items = values if isinstance(values, tuple | list | np.ndarray) else (values,)
    return [float(v) for v in items if isinstance(v, int | float) and not isinstance(v, bool)]


def threshold_points(rules: RuleSet) -> dict[str, set[float]]:
    """metric -> the numbers the rules compare it with (thresholds, full_at, segments, literals)."""
    points: dict[str, set[float]] = {}
    for rule in rules.rules:
        found = points.setdefault(rule.metric, set())
        found.update(_numbers(rule.threshold), _numbers(rule.full_at))
        if rule.segment is not None:
            found.update(_numbers(rule.segment["threshold"].to_numpy()))
        for test in conditions.names(rule.condition):
            points.setdefault(test.name, set()).update(_numbers(test.literals))
    return points


def integer_metrics() -> set[str]:
    """Fields of type integer and integer indicators (their values are whole numbers)."""
    fields = {f.name for f in load_dictionary().fields.values() if f.type == "integer"}
    return fields | {i.name for i in INDICATORS if i.kind == "integer"}


def number_column(rng: np.random.Generator, points: set[float], count: int, whole: bool):
    """Values within +-30 % of a randomly chosen threshold (so both sides of each occur)."""
    anchors = np.array(sorted(points or {1.0}))
    values = anchors[rng.integers(len(anchors), size=count)] * rng.uniform(0.7, 1.3, count)
    values = np.round(values) if whole else values
    values[rng.random(count) < MISSING_SHARE] = np.nan
    return values


def code_column(rng: np.random.Generator, codes: tuple[str, ...], count: int, name: str):
    """Codes of a choice (or made-up texts), uniformly drawn, as a pandas ``string`` array."""
    pool = np.array(codes or tuple(f"{name}-{k}" for k in range(10)), dtype=object)
    values = pool[rng.integers(len(pool), size=count)]
    values[rng.random(count) < MISSING_SHARE] = None
    return pd.array(values, dtype="string")


def bool_column(rng: np.random.Generator, count: int):
    """70 % true, as a pandas ``boolean`` array."""
    values = rng.random(count) < 0.7
    return pd.arrays.BooleanArray(values, rng.random(count) < MISSING_SHARE)


def date_column(rng: np.random.Generator, count: int):
    """Days from 2012-01-01 on, as datetime64 (NaT for missing)."""
    days = rng.integers(0, 5000, size=count).astype("timedelta64[D]")
    values = (np.datetime64("2012-01-01") + days).astype("datetime64[ns]")
    values[rng.random(count) < MISSING_SHARE] = np.datetime64("NaT")
    return values


def make_frame(rules: RuleSet, count: int) -> pd.DataFrame:
    """N synthetic projects with every metric column the rules use (seeded, ~5 % missing)."""
    rng = np.random.default_rng(SEED)
    catalogue, points, whole = metric_catalogue(), threshold_points(rules), integer_metrics()
    columns = {}
    for name in used_metrics(rules):
        metric = catalogue[name]
        if metric.kind == "number":
            columns[name] = number_column(rng, points.get(name, set()), count, name in whole)
        elif metric.kind == "bool":
            columns[name] = bool_column(rng, count)
        elif metric.kind == "date":
            columns[name] = date_column(rng, count)
        else:
            columns[name] = code_column(rng, metric.choices, count, name)
    ids = pd.Index([f"P{i:07d}" for i in range(1, count + 1)], dtype="string", name="project_id")
    return pd.DataFrame(columns, index=ids)


# --- vectorised (child process) -------------------------------------------------------------


def verdict_counts(evaluation) -> list[int]:
    """How many project x rule cells got each verdict (in VERDICTS order)."""
    total = np.zeros(len(VERDICTS), dtype=np.int64)
    for result in evaluation.results.values():
        total += np.bincount(result.codes, minlength=len(VERDICTS))
    return total.tolist()


def child_main(count: int, min_rules: int) -> None:
    """Generate the data, time evaluate_rules best of REPEATS, print the figures as JSON."""
    start = time.perf_counter()
    _, rules, _ = bench_rules(min_rules)
    frame = make_frame(rules, count)
    generate_s = time.perf_counter() - start
    after_data_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    runs, evaluation = [], None
    for _ in range(REPEATS):
        evaluation = None  # one evaluation alive at a time, as in real use
        start = time.perf_counter()
        evaluation = evaluate_rules(frame, rules, AS_OF)
        runs.append(time.perf_counter() - start)
    figures = {
        "runs": runs,
        "generate_s": generate_s,
        "after_data_kb": after_data_kb,
        "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "frame_bytes": int(frame.memory_usage(deep=True).sum()),
        "verdict_counts": verdict_counts(evaluation),
    }
    print(json.dumps(figures))


def run_child(count: int, min_rules: int) -> dict:
    """This script with --child in a fresh interpreter; returns its figures."""
    command = [sys.executable, __file__, "--projects", str(count), "--min-rules", str(min_rules)]
    done = subprocess.run([*command, "--child"], stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- per-record baseline --------------------------------------------------------------------


def missing(value: object) -> bool:
    """None, pd.NA, NaT or a float NaN: how a missing value comes out of itertuples."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def comparison_scalar(test: conditions.Comparison, record: dict) -> tuple[bool, bool]:
    """(truth, known) of one comparison on one record; a missing value is unknown."""
    value = record[test.name]
    if test.op in ("is_blank", "not_blank"):
        return missing(value) == (test.op == "is_blank"), True
    if missing(value):
        return False, False
    if test.op == "in":
        return value in test.literals, True
    if test.op == "not_in":
        return value not in test.literals, True
    if test.op == "between":
        return test.literals[0] <= value <= test.literals[1], True
    return bool(conditions.COMPARISONS[test.op](value, test.literals[0])), True


def condition_scalar(tree: object, record: dict) -> tuple[bool, bool]:
    """(truth, known) of an applies_when tree, Kleene logic; None is always true."""
    if tree is None:
        return True, True
    if isinstance(tree, conditions.Comparison):
        return comparison_scalar(tree, record)
    parts = [condition_scalar(part, record) for part in tree.parts]
    if tree.op == "not":
        truth, known = parts[0]
        return known and not truth, known
    truth, known = parts[0]
    for other_truth, other_known in parts[1:]:
        if tree.op == "and":
            false_known = (known and not truth) or (other_known and not other_truth)
            known = (known and other_known) or false_known
            truth = truth and other_truth
        else:
            known = (known and other_known) or truth or other_truth
            truth = truth or other_truth
    return truth, known


def segment_scalar(rows: list[dict], record: dict) -> object:
    """The first segment row whose keys all match gives the threshold; a missing key on the
    way leaves it UNDECIDED ("insufficient"); no matching row -> None ("not_applicable")."""
    for row in rows:
        keys = [(key, wanted) for key, wanted in row.items() if key != "threshold"]
        keys = [(key, wanted) for key, wanted in keys if wanted is not None]
        if any(missing(record[key]) for key, _ in keys):
            return UNDECIDED
        if all(record[key] == wanted for key, wanted in keys):
            return row["threshold"]
    return None


def plan_rule(rule, pack_in_force: bool) -> tuple:
    """What the loop needs of one rule: (rule, in force?, segment rows, metric test)."""
    in_force = pack_in_force and rule.in_force(AS_OF)
    rows = None if rule.segment is None else rule.segment.to_dict("records")
    literals = rule.threshold if isinstance(rule.threshold, tuple) else (rule.threshold,)
    if rule.operator in ("is_blank", "not_blank"):
        literals = ()
    return rule, in_force, rows, conditions.Comparison(rule.metric, rule.operator, literals)


def verdict_scalar(plan: tuple, record: dict) -> str:
    """The verdict of one rule (prepared by plan_rule) on one record."""
    rule, in_force, rows, test = plan
    if not in_force:
        return "not_applicable"
    truth, known = condition_scalar(rule.condition, record)
    if not known:
        return "insufficient"
    if not truth:
        return "not_applicable"
    if rows is not None:
        threshold = segment_scalar(rows, record)
        if threshold is None or threshold is UNDECIDED:
            return "not_applicable" if threshold is None else "insufficient"
        test = conditions.Comparison(rule.metric, rule.operator, (threshold,))
    passed, has_value = comparison_scalar(test, record)
    if not has_value:
        return "insufficient"
    return "pass" if passed else "fail"


def loop_verdicts(frame: pd.DataFrame, rules: RuleSet) -> tuple[float, dict[str, list[str]]]:
    """(seconds, rule_id -> verdicts): the per-record loop over every row of ``frame``."""
    start = time.perf_counter()
    forces = {pack.id: pack.in_force(AS_OF) for pack in rules.packs}
    plans = [plan_rule(rule, forces[rule.pack]) for rule in rules.rules]
    verdicts: dict[str, list[str]] = {rule.rule_id: [] for rule in rules.rules}
    columns = list(frame.columns)
    for values in frame.itertuples(index=False, name=None):
        record = dict(zip(columns, values, strict=True))
        for plan in plans:
            verdicts[plan[0].rule_id].append(verdict_scalar(plan, record))
    return time.perf_counter() - start, verdicts


def disagreements(loop: dict[str, list[str]], verdicts: pd.DataFrame) -> tuple[int, list]:
    """(cells compared, every differing cell as (project, rule_id, loop, vectorised))."""
    compared, examples = 0, []
    for rule_id, found in loop.items():
        vectorised = verdicts[rule_id].to_numpy(dtype=object)[: len(found)]
        differ = np.flatnonzero(vectorised != np.array(found, dtype=object))
        compared += len(found)
        examples += [(verdicts.index[i], rule_id, found[i], vectorised[i]) for i in differ]
    return compared, examples


# --- single project -------------------------------------------------------------------------


def single_project_ms(frame: pd.DataFrame, shipped: RuleSet) -> float:
    """Median ms of evaluate_rules (all shipped packs) on the first record alone, after one
    warm-up call."""
    one = frame.iloc[:1].copy()
    evaluate_rules(one, shipped, AS_OF)
    times = []
    for _ in range(SINGLE_CALLS):
        start = time.perf_counter()
        evaluate_rules(one, shipped, AS_OF)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


# --- report --------------------------------------------------------------------------------


def cores() -> str:
    text = str(os.cpu_count())
    if hasattr(os, "sched_getaffinity"):
        text += f" (usable by this process: {len(os.sched_getaffinity(0))})"
    return text


def in_force(rules: RuleSet) -> list[str]:
    """Ids of the rules (of packs) in force on AS_OF; the others are all not_applicable."""
    forces = {pack.id: pack.in_force(AS_OF) for pack in rules.packs}
    return [rule.rule_id for rule in rules.rules if forces[rule.pack] and rule.in_force(AS_OF)]


def coverage(evaluation, rules: RuleSet) -> str:
    """How many in-force rules reach each verdict (a rule with no condition and no segment
    table cannot be not_applicable)."""
    live = in_force(rules)
    seen = [set(np.unique(evaluation.results[rule_id].codes).tolist()) for rule_id in live]
    counts = [sum(code in codes for codes in seen) for code in range(len(VERDICTS))]
    reached = ", ".join(f"{name} {n}" for name, n in zip(VERDICTS, counts, strict=True))
    return f"{len(live)} of {len(rules.rules)} rules in force on {AS_OF}; of these, {reached}"


def verdict(ok: bool, count: int, per_n: bool = True) -> str:
    """MET / NOT MET; the targets that depend on N are judged only at TARGET_PROJECTS."""
    if per_n and count != TARGET_PROJECTS:
        return f"not judged at N = {count:,}"
    return "MET" if ok else "NOT MET"


def report_setting(count: int, rules: RuleSet, found: dict) -> None:
    """Rules, data, coverage of the verdicts, and the cross-check of the two processes."""
    child, synthetic = found["child"], found["synthetic"]
    print(
        f"\nRule evaluation benchmark: {len(rules.rules)} rules on {count:,} projects, "
        f"as_of {AS_OF}"
    )
    print(
        f"rules: {len(rules.rules) - synthetic} shipped in {len(rules.packs) - bool(synthetic)} "
        f"packs + {synthetic} synthetic (added only below {found['min_rules']} rules)"
    )
    print(f"CPU cores (os.cpu_count): {cores()}")
    print(
        f"load_rules(), once, first call in the process: {found['load_s'] * 1000:.0f} ms "
        "(reported only)"
    )
    print(
        f"data: {found['columns']} metric columns, frame {child['frame_bytes'] / 2**30:.3f} GiB "
        f"(memory_usage deep); generated in {child['generate_s']:.1f} s in the child (not measured)"
    )
    print(f"coverage: {found['coverage']}")
    totals = ", ".join(f"{n} {c:,}" for n, c in zip(VERDICTS, child["verdict_counts"], strict=True))
    same = "same" if child["verdict_counts"] == found["parent_counts"] else "DIFFERENT"
    print(f"verdict cells, all projects x rules: {totals} ({same} counts in the parent process)")


def report_measures(count: int, found: dict) -> None:
    """The vectorised runs, the loop and its extrapolation, the agreement, one project."""
    child, sample = found["child"], found["sample"]
    runs = ", ".join(f"{run:.3f}" for run in child["runs"])
    print(
        f"\nvectorised evaluate_rules (child process): runs {runs} s; "
        f"best {min(child['runs']):.3f} s"
    )
    print(f"  same call once in the parent (not the headline): {found['parent_s']:.3f} s")
    per_record = found["loop_s"] / sample
    print(
        f"per-record loop: first {sample:,} projects in {found['loop_s']:.2f} s = "
        f"{per_record * 1e6:.1f} us per project; x {count:,} = {per_record * count:.1f} s "
        "(extrapolated linearly)"
    )
    compared, examples = found["agreement"]
    print(
        f"agreement loop vs evaluation.verdicts: {compared - len(examples):,} of {compared:,} "
        f"verdicts identical ({sample:,} projects x {compared // sample} rules)"
    )
    for project, rule_id, loop, vectorised in examples[:5]:
        print(f"  DIFFERENT {project} {rule_id}: loop {loop}, vectorised {vectorised}")
    print(
        f"single project, shipped packs: median {found['single_ms']:.2f} ms of {SINGLE_CALLS} "
        "calls (after 1 warm-up)"
    )


def table_rows(count: int, rules: RuleSet, found: dict) -> list[tuple[str, str, str, str]]:
    """(label, figure, target, verdict) per figure; N-dependent targets judged at 1,000,000."""
    child, size = found["child"], len(rules.rules)
    best, gib, ms = min(child["runs"]), child["peak_kb"] / 2**20, found["single_ms"]
    loop = found["loop_s"] / found["sample"] * count
    met = {
        "rules": verdict(size >= MIN_RULES, count, per_n=False),
        "time": verdict(best < TARGET_SECONDS, count),
        "ratio": verdict(loop / best >= TARGET_RATIO, count),
        "memory": verdict(gib < TARGET_GIB, count),
        "single": verdict(ms < TARGET_MS, count, per_n=False),
    }
    return [
        ("rules", f"{size}", f">= {MIN_RULES}", met["rules"]),
        ("projects N", f"{count:,}", "", ""),
        ("vectorised s (best of 3)", f"{best:.3f}", "< 3 s", met["time"]),
        ("per-record loop s (extrapolated)", f"{loop:.1f}", "", ""),
        ("ratio loop / vectorised", f"{loop / best:.1f}x", ">= 20x", met["ratio"]),
        ("peak memory GiB (child ru_maxrss)", f"{gib:.2f}", "< 4 GiB", met["memory"]),
        ("  of which after data generation", f"{child['after_data_kb'] / 2**20:.2f}", "", ""),
        ("single project ms (shipped packs)", f"{ms:.2f}", "< 25 ms", met["single"]),
        ("CPU cores (os.cpu_count)", f"{os.cpu_count()}", "", ""),
    ]


def report_table(count: int, rules: RuleSet, found: dict) -> None:
    """One line per figure, with its target and verdict."""
    print(f"\n{'':36}{'figure':>12}  {'target':<10}  verdict")
    for label, figure, target, judged in table_rows(count, rules, found):
        print(f"{label:36}{figure:>12}  {target:<10}  {judged}")


# --- main ----------------------------------------------------------------------------------


def measure_in_parent(count: int, min_rules: int) -> tuple[RuleSet, dict]:
    """Rules and data again in this process: one vectorised call (for the agreement check),
    the per-record loop on the sample, and the single-project timing."""
    shipped, rules, load_s = bench_rules(min_rules)
    frame = make_frame(rules, count)
    start = time.perf_counter()
    evaluation = evaluate_rules(frame, rules, AS_OF)
    parent_s = time.perf_counter() - start
    sample = min(SAMPLE, count)
    loop_s, loop = loop_verdicts(frame.iloc[:sample], rules)
    found = {
        "load_s": load_s,
        "synthetic": len(rules.rules) - len(shipped.rules),
        "min_rules": min_rules,
        "columns": frame.shape[1],
        "parent_s": parent_s,
        "parent_counts": verdict_counts(evaluation),
        "coverage": coverage(evaluation, rules),
        "sample": sample,
        "loop_s": loop_s,
        "agreement": disagreements(loop, evaluation.verdicts.iloc[:sample]),
        "single_ms": single_project_ms(frame, shipped),
    }
    return rules, found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=TARGET_PROJECTS, help="number of projects")
    parser.add_argument(
        "--min-rules", type=int, default=MIN_RULES, help="add synthetic rules below"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.projects, args.min_rules)
        return
    child = run_child(args.projects, args.min_rules)  # first, alone on the machine
    rules, found = measure_in_parent(args.projects, args.min_rules)
    found["child"] = child
    report_setting(args.projects, rules, found)
    report_measures(args.projects, found)
    report_table(args.projects, rules, found)
    if found["agreement"][1] or child["verdict_counts"] != found["parent_counts"]:
        sys.exit("bench_rules: the per-record loop and the vectorised verdicts differ")


if __name__ == "__main__":
    main()
