"""Intake speed: read and normalize N single-project application workbooks.

Requirement: reading and normalizing 1,000 single-project workbooks takes under 2 seconds on
two cores, printed beside ``pandas.read_excel`` (openpyxl) reading the same files in the same run.

What is measured, in one script run, on the same files (already in the OS page cache); the
engine's own worker processes (it may use a process pool) are inside its timing:

* engine:   ``assessment.read_applications([folder], as_of=2025-06-30)`` on all N files at
  once: open every workbook, find the fields, convert units, type and validate the values and
  build the projects / yearly / problems tables. Checked: N projects, no error problems.
* baseline: ``pandas.read_excel(path, sheet_name=None, engine="openpyxl")`` for every file: it
  only loads each sheet into a DataFrame (no field matching, units or checks), so it does LESS
  work than the engine.

Each side runs once "cold" (first call in the process) and then 3 more times, alternating
engine and baseline; the best of those 3 is the headline figure. The ratio is baseline / engine
(above 1 means the engine is faster). Workbook generation (``write_template``, one call per
file) is timed separately and is not part of the measurement.

Usage: ``python bench/bench_read.py [--files N] [--keep DIR]``; with ``--keep`` the workbooks
are written to DIR and reused by later runs when DIR already holds the N of them.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGET_SECONDS = 2.0
TARGET_FILES = 1000
AS_OF = dt.date(2025, 6, 30)
YEARS = range(2019, 2026)
REPEATS = 3
DICTIONARY = Path(__file__).resolve().parents[1] / "templates" / "application"
# Units a workbook may be filled in instead of the base unit, with their factor to the base.
OTHER_UNITS = {"CNY": {"万元": 1e4, "亿元": 1e8}, "MW": {"kW": 1e-3}, "fraction": {"%": 1e-2}}
CNY_SHARES = {
    "ebitda_cny": (0.38, 0.55),
    "operating_cash_flow_cny": (0.30, 0.45),
    "distributable_cash_cny": (0.25, 0.40),
}


def timed_import() -> tuple[float, object, object]:
    """Import pandas and the engine, returning the seconds it took (reported, not measured)."""
    start = time.perf_counter()
    import pandas

    import assessment

    return time.perf_counter() - start, pandas, assessment


def load_fields() -> tuple[list[dict[str, str]], dict[str, list[dict[str, str]]]]:
    """The field rows of fields.csv and the choice rows of choices.csv grouped by set."""
    with open(DICTIONARY / "fields.csv", encoding="utf-8", newline="") as handle:
        fields = list(csv.DictReader(handle))
    choices: dict[str, list[dict[str, str]]] = {}
    with open(DICTIONARY / "choices.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            choices.setdefault(row["set"], []).append(row)
    return fields, choices


# --- one project ---------------------------------------------------------------------------


def geography(rng: random.Random, choices: dict) -> dict[str, str]:
    """A consistent province / hub / cluster triple (the engine cross-checks them)."""
    cluster = rng.choice(choices["cluster"])
    provinces = choices["province"]
    if cluster["code"] == "none":
        province = rng.choice(provinces)
        hub = province["hub"] or "none"
    else:
        hub = cluster["hub"]
        province = rng.choice(
            [p for p in provinces if p["code"] == cluster["province"]]
            or [p for p in provinces if p["hub"] == hub]
        )
    return {"province": province["code"], "hub": hub, "cluster": cluster["code"]}


def texts(rng: random.Random, index: int, lang: str, place: dict, choices: dict) -> dict:
    """Identity texts in the workbook's language; the city is the cluster or province name."""
    label = "label_zh" if lang == "zh" else "label_en"
    rows = {r["code"]: r for r in choices["cluster"] + choices["province"]}
    key = place["cluster"] if place["cluster"] != "none" else place["province"]
    city = rows[key][label]
    if lang == "zh":
        name, sponsor = f"{city}算力中心{index}期", f"{city}数字科技有限公司{rng.randint(1, 99)}"
    else:
        name, sponsor = f"{city} Data Campus {index}", f"{city} Digital Co. {rng.randint(1, 99)}"
    return {
        "project_id": f"BENCH-{index:05d}",
        "project_name": name,
        "sponsor": sponsor,
        "city": city,
    }


def scale_and_energy(rng: random.Random) -> dict[str, float]:
    """Racks, load, energy and efficiency figures that pass the engine's range checks."""
    racks = rng.randint(200, 20000)
    load = round(racks * rng.uniform(2.5, 8.0) / 1000, 2)
    pue = round(rng.uniform(1.2, 1.55), 3)
    return {
        "racks": racks,
        "it_load_mw": load,
        "rack_utilisation": round(rng.uniform(0.3, 0.95), 3),
        "compute_pflops": round(rng.uniform(1, 5000), 1),
        "pue": pue,
        "pue_design": round(pue * rng.uniform(0.9, 1.0), 3),
        "wue_l_per_kwh": round(rng.uniform(0.1, 1.8), 2),
        "it_energy_mwh": round(load * 8760 * rng.uniform(0.3, 0.85)),
        "green_power_share": round(rng.uniform(0, 1), 3),
        "refrigerant_gwp": rng.choice((0.0, 4.0, 675.0, 1430.0, 2088.0)),
    }


def _whole_10k(amount: float) -> float:
    return float(round(amount, -4))


def finance(rng: random.Random, load_mw: float) -> dict[str, float]:
    """Money figures (whole 10k CNY) with equity and loan below total investment."""
    investment = load_mw * rng.uniform(2e7, 6e7)
    cny = _whole_10k
    return {
        "total_investment_cny": cny(investment),
        "equity_cny": cny(investment * rng.uniform(0.2, 0.4)),
        "loan_amount_cny": cny(investment * rng.uniform(0.4, 0.7)),
        "loan_tenor_years": float(rng.randint(5, 15)),
        "contracted_revenue_share": round(rng.uniform(0.3, 1.0), 3),
        "top_tenant_share": round(rng.uniform(0.1, 0.7), 3),
        "wale_years": round(rng.uniform(1, 10), 1),
        "appraised_value_cny": cny(investment * rng.uniform(0.9, 1.4)),
        "fx_usd_cny": round(rng.uniform(6.8, 7.3), 4),
        "fund_irr": round(rng.uniform(0.04, 0.09), 4),
        "reinvestment_share": round(rng.uniform(0.5, 1.0), 3),
    }


def by_type(rng: random.Random, fields: list[dict], choices: dict, filled: dict) -> dict:
    """Remaining choice, bool and date fields: random codes, bools and an opening date."""
    out: dict[str, object] = {}
    for field in fields:
        name, kind = field["name"], field["type"]
        if name in filled:
            continue
        if kind == "choice":
            out[name] = rng.choice(choices[field["choices"]])["code"]
        elif kind == "bool":
            out[name] = rng.random() < 0.7
        elif kind == "date":
            out[name] = (dt.date(2012, 1, 1) + dt.timedelta(days=rng.randint(0, 4500))).isoformat()
    return out


def yearly_series(rng: random.Random, values: dict) -> dict[str, dict[int, float]]:
    """Seven years (2019-2025) of every series, scaled to the project's investment."""
    base = values["total_investment_cny"] * rng.uniform(0.10, 0.20)
    growth = rng.uniform(0.0, 0.08)
    revenue = {y: round(base * (1 + growth) ** i, -4) for i, y in enumerate(YEARS)}
    series = {"revenue_cny": revenue}
    for name, (low, high) in CNY_SHARES.items():
        series[name] = {y: round(r * rng.uniform(low, high), -4) for y, r in revenue.items()}
    service = values["loan_amount_cny"] / values["loan_tenor_years"] * rng.uniform(1.1, 1.4)
    series["debt_service_cny"] = {y: round(service, -4) for y in YEARS}
    return series


def pick_units(rng: random.Random, fields: list[dict]) -> dict[str, str]:
    """About 40% of workbooks state some fields in 万元, 亿元, kW or % instead of the base unit."""
    if rng.random() > 0.4:
        return {}
    return {
        f["name"]: rng.choice(list(OTHER_UNITS[f["unit"]]))
        for f in fields
        if f["unit"] in OTHER_UNITS and rng.random() < 0.5
    }


def in_units(values: dict, yearly: dict, units: dict[str, str], fields: list[dict]) -> None:
    """Rewrite values (in place) in the units chosen for them."""
    dimension = {f["name"]: f["unit"] for f in fields}
    for name, unit in units.items():
        factor = OTHER_UNITS[dimension[name]][unit]
        if name in yearly:
            yearly[name] = {y: round(v / factor, 6) for y, v in yearly[name].items()}
        else:
            values[name] = round(values[name] / factor, 6)


def make_project(rng: random.Random, index: int, fields: list[dict], choices: dict) -> tuple:
    """(lang, values, yearly, units) of one fully filled, valid project."""
    lang = "zh" if rng.random() < 1 / 3 else "en"
    place = geography(rng, choices)
    values: dict[str, object] = {**place, **texts(rng, index, lang, place, choices)}
    values.update(scale_and_energy(rng))
    values.update(finance(rng, values["it_load_mw"]))
    values.update(by_type(rng, fields, choices, values))
    yearly = yearly_series(rng, values)
    missing = {f["name"] for f in fields} - set(values) - set(yearly)
    if missing:
        sys.exit(f"bench_read: fields.csv has fields this benchmark does not fill: {missing}")
    units = pick_units(rng, fields)
    in_units(values, yearly, units, fields)
    return lang, values, yearly, units


# --- workbooks -----------------------------------------------------------------------------


def bench_files(folder: Path, count: int) -> list[Path]:
    return [folder / f"bench-{i:05d}.xlsx" for i in range(1, count + 1)]


def generate(folder: Path, count: int, assessment) -> float:
    """Write ``count`` workbooks with the engine's template writer; returns the seconds taken."""
    fields, choices = load_fields()
    dictionary = assessment.load_dictionary()
    rng = random.Random(0)
    start = time.perf_counter()
    for index, path in enumerate(bench_files(folder, count), start=1):
        lang, values, yearly, units = make_project(rng, index, fields, choices)
        assessment.write_template(
            path, lang, values=values, yearly=yearly, units=units, dictionary=dictionary
        )
    return time.perf_counter() - start


def prepare(folder: Path, count: int, assessment) -> float | None:
    """Reuse the workbooks in ``folder`` when it holds exactly these N, else (re)generate them.

    Returns the generation seconds, or None when cached workbooks were reused."""
    present = sorted(folder.glob("*.xlsx"))
    if present == bench_files(folder, count):
        return None
    foreign = [p for p in folder.iterdir() if not p.name.startswith("bench-")]
    if foreign:
        sys.exit(f"bench_read: {folder} holds other files ({foreign[0].name}); use an empty folder")
    for path in present:
        path.unlink()
    return generate(folder, count, assessment)


# --- measurement ---------------------------------------------------------------------------


def run_engine(folder: Path, count: int, assessment) -> Callable[[], None]:
    """The engine over the whole folder, checked: N projects and no error problems."""

    def run() -> None:
        projects, yearly, problems = assessment.read_applications([folder], as_of=AS_OF)
        errors = problems[problems["severity"] == "error"]
        if len(errors):
            print(errors.head(20).to_string(), file=sys.stderr)
            sys.exit(f"bench_read: the engine reported {len(errors)} error problems")
        if len(projects) != count:
            sys.exit(f"bench_read: the engine returned {len(projects)} projects, not {count}")

    return run


def run_baseline(folder: Path, count: int, pandas) -> Callable[[], None]:
    """pandas.read_excel with openpyxl, every sheet of every file, nothing else."""
    paths = bench_files(folder, count)

    def run() -> None:
        for path in paths:
            pandas.read_excel(path, sheet_name=None, engine="openpyxl")

    return run


def measure(tasks: dict[str, Callable[[], None]]) -> dict[str, tuple[float, float]]:
    """name -> (cold seconds, best of REPEATS warm seconds); the tasks alternate each round."""
    times: dict[str, list[float]] = {name: [] for name in tasks}
    for _ in range(REPEATS + 1):
        for name, task in tasks.items():
            start = time.perf_counter()
            task()
            times[name].append(time.perf_counter() - start)
    return {name: (runs[0], min(runs[1:])) for name, runs in times.items()}


# --- report --------------------------------------------------------------------------------


def cores() -> str:
    text = str(os.cpu_count())
    if hasattr(os, "sched_getaffinity"):
        text += f" (usable by this process: {len(os.sched_getaffinity(0))})"
    return text


def report(count: int, results: dict, import_s: float, generated: float | None) -> None:
    """The setting, the table of times, the ratio and the verdict."""
    print(f"\nIntake benchmark: {count} single-project workbooks, as_of {AS_OF}")
    print(f"CPU cores (os.cpu_count, the engine may use them all): {cores()}")
    print(f"import pandas + assessment: {import_s:.2f} s (not measured)")
    print(
        "generation (write_template per file): "
        + (f"{generated:.1f} s (not measured)" if generated is not None else "reused cached files")
    )
    print(f"\n{'':28}{'cold s':>9}{'best of 3 s':>13}{'files/s':>10}")
    for name, label in (
        ("engine", "engine read_applications"),
        ("baseline", "pandas.read_excel openpyxl"),
    ):
        cold, best = results[name]
        print(f"{label:28}{cold:9.3f}{best:13.3f}{count / best:10.0f}")
    report_verdict(count, results["engine"], results["baseline"])


def report_verdict(count: int, engine: tuple[float, float], baseline: tuple[float, float]) -> None:
    print(
        f"\nratio baseline / engine: {baseline[1] / engine[1]:.2f}x best, "
        f"{baseline[0] / engine[0]:.2f}x cold"
    )
    print(
        "(the baseline only loads sheets into DataFrames: no field matching, unit conversion, "
        "typing or checks, i.e. less work than the engine)"
    )
    target = f"target: {TARGET_FILES} files in < {TARGET_SECONDS:.0f} s -> "
    if count == TARGET_FILES:
        verdict = "MET" if engine[1] < TARGET_SECONDS else "NOT MET"
        print(f"{target}{verdict} (best {engine[1]:.2f} s)")
    else:
        print(
            f"{target}not judged with {count} files (linear estimate "
            f"{engine[1] * TARGET_FILES / count:.2f} s; fixed overhead inflates it at small N)"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=TARGET_FILES, help="number of workbooks")
    parser.add_argument("--keep", type=Path, help="folder to write the workbooks to and reuse")
    args = parser.parse_args(argv)
    import_s, pandas, assessment = timed_import()
    with tempfile.TemporaryDirectory(prefix="bench_read_") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        generated = prepare(folder, args.files, assessment)
        results = measure(
            {
                "engine": run_engine(folder, args.files, assessment),
                "baseline": run_baseline(folder, args.files, pandas),
            }
        )
    report(args.files, results, import_s, generated)


if __name__ == "__main__":
    main()
