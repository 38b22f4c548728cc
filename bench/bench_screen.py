"""Batch screening: ``assess screen`` end to end, as a whole process, against plain baselines.

Requirements (each a scenario, ``--scenario NAME``; default: all of them):

* list10k:   a 10,000-row candidate list workbook read, scored (rules and model) and written
  to ``screening.xlsx`` in under 6 s as a whole process, at least 10 times faster than
  ``pandas.read_excel`` (openpyxl) plus a per-row ``score_read`` loop.
* forms10k:  10,000 single-project workbooks screened in under 15 s (whole process, default
  ``--jobs``), beside ``pandas.read_excel`` (openpyxl) on every file.
* reports1k: 1,000 per-project PDF memos in under 30 s with two processes (``--reports
  --jobs 2`` minus the same command without ``--reports``), beside one process (``--jobs 1``).
* list1m:    a 1,000,000-row candidate list (CSV and Parquet) screened with two processes
  (``--jobs 2``) in under 25 s and under 2 GiB in all processes together (issue 19), beside
  ``pandas.read_csv`` plus the per-row loop and, with ``--before``, the engine before issue 19
  (commit ``4e70352``, :mod:`baseline`) on the CSV list in the same run.
* dask1m:    the same list on Dask with two workers gives results identical to the local
  engine (``screen_inputs`` frames compared with ``pandas.testing.assert_frame_equal``).

"Whole process" means ``[assess or python -m assessment.cli] screen INPUT... -o OUT --as-of
2025-06-30`` run with ``subprocess`` and timed by the wall clock from start to exit (start-up,
imports, worker processes and every output file included). Inputs are generated (see
``--help`` and bench/README.md) and can be kept and reused with ``--keep DIR``.

Usage: ``python bench/bench_screen.py [--scenario NAME ...] [--rows N] [--files N] [--before]
[--keep DIR]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SAMPLE_LIST = ROOT / "sample_projects" / "candidates" / "candidate_list_2025.xlsx"
SAMPLE_ERROR_ROWS = ROOT / "sample_projects" / "broken" / "candidate_rows_with_errors.xlsx"
AS_OF = dt.date(2025, 6, 30)
SCENARIOS = ("list10k", "forms10k", "reports1k", "list1m", "dask1m")
GIB = 2**30
REPEATS = 3
LOOP_ROWS = 200
TARGETS = {
    "list10k": {"rows": 10_000, "seconds": 6.0, "ratio": 10.0},
    "forms10k": {"files": 10_000, "seconds": 15.0},
    "reports1k": {"files": 1_000, "seconds": 30.0},
    "list1m": {"rows": 1_000_000, "seconds": 25.0, "memory": 2 * GIB},  # issue 19, --jobs 2
}

sys.path.insert(0, str(HERE))
import bench_read  # noqa: E402  (the workbook generator of the intake benchmark)
from baseline import BEFORE_ISSUE_19, environment, tree_of  # noqa: E402

# ============================================================================================
# Running the command: wall clock, exit code, memory of the whole process tree
# ============================================================================================


def screen_command(revision: str | None = None) -> list[str]:
    """The ``assess`` console script when installed, else ``python -m assessment.cli``; for
    an earlier ``revision``, ``python -m assessment`` run from a copy of its files."""
    if revision is not None:
        return [sys.executable, "-m", "assessment"]
    script = shutil.which("assess")
    return [script] if script else [sys.executable, "-m", "assessment.cli"]


def _descendants(root: int) -> list[int]:
    """``root`` and every process below it, from /proc (parent of each process)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                parent = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _kib(path: str, keys: tuple[str, ...]) -> dict[str, int]:
    """The ``key: N kB`` lines of a /proc file (empty when the process has gone)."""
    found: dict[str, int] = {}
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in keys:
                    found[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return found


class TreeMemory(threading.Thread):
    """Samples the memory of a process and all its descendants every ``interval`` seconds:
    the largest sum of PSS (shared pages counted once) and of RSS over the tree at one
    instant, and each process's own peak (VmHWM, last value seen)."""

    def __init__(self, root: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.stop = threading.Event()
        self.pss = self.rss = 0
        self.hwm: dict[int, int] = {}
        self.available = os.path.isdir("/proc") and os.path.exists("/proc/self/smaps_rollup")

    def run(self) -> None:
        while self.available and not self.stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        pss = rss = 0
        for pid in _descendants(self.root):
            status = _kib(f"/proc/{pid}/status", ("VmRSS", "VmHWM"))
            if not status:
                continue
            rss += status.get("VmRSS", 0)
            self.hwm[pid] = max(self.hwm.get(pid, 0), status.get("VmHWM", 0))
            pss += _kib(f"/proc/{pid}/smaps_rollup", ("Pss",)).get("Pss", 0)
        self.pss, self.rss = max(self.pss, pss), max(self.rss, rss)


class Run(NamedTuple):
    seconds: float
    code: int
    stdout: str
    stderr: str
    max_one: int  # bytes: wait4 ru_maxrss, the largest single process (as /usr/bin/time -v)
    pss_sum: int  # bytes: largest sampled sum of PSS over the tree
    rss_sum: int  # bytes: largest sampled sum of RSS over the tree
    hwm_sum: int  # bytes: sum of every process's own peak (an upper bound)
    processes: int


def run_screen(inputs: list[str], out: Path, *options: str, revision: str | None = None) -> Run:
    """``assess screen INPUT... -o OUT --as-of 2025-06-30 OPTIONS`` as a whole process, with
    today's engine or an earlier ``revision``'s; OUT is emptied first. The clock runs from the
    start of the process to its exit."""
    shutil.rmtree(out, ignore_errors=True)
    command = [*screen_command(revision), "screen", *inputs, "-o", str(out), "--as-of", str(AS_OF)]
    where = {} if revision is None else {"cwd": tree_of(revision), "env": environment(revision)}
    where = {"cwd": ROOT, **where}
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen([*command, *options], stdout=stdout, stderr=stderr, **where)
        memory = TreeMemory(process.pid)
        memory.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        memory.stop.set()
        memory.join()
        stdout.seek(0)
        stderr.seek(0)
        texts = [s.read().decode("utf-8", "replace") for s in (stdout, stderr)]
    return Run(
        seconds,
        process.returncode,
        *texts,
        usage.ru_maxrss * 1024,
        memory.pss,
        memory.rss,
        sum(memory.hwm.values()),
        len(memory.hwm),
    )


def checked(run: Run, what: str) -> Run:
    """Exit codes 0 (all scored) and 2 (some rejected) are results; anything else stops."""
    if run.code not in (0, 2):
        print(run.stdout[-3000:], run.stderr[-5000:], sep="\n", file=sys.stderr)
        raise ScenarioFailed(f"{what}: assess screen exited with code {run.code}")
    return run


class ScenarioFailed(RuntimeError):
    pass


def counts(out: Path) -> dict:
    """The manifest's counts: files, projects_scored, rejected."""
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["counts"]


def counts_text(found: dict) -> str:
    return (
        f"{found['files']:,} input file(s): {found['projects_scored']:,} scored, "
        f"{found['rejected']:,} rejected"
    )


# ============================================================================================
# Inputs: candidate lists (from the sample list) and single-project workbooks (bench_read)
# ============================================================================================


class SampleList(NamedTuple):
    titles: list[list[object]]  # the rows above the header
    header: list[str]
    rows: list[list[object]]  # the data rows (the blank row of the sample left out)


def sample_list() -> SampleList:
    """The sample candidate list as written by sample_projects/build.py (207 rows with a few
    messy cells) and, after them, its 3 rows wrong on purpose (kept apart in
    ``sample_projects/broken/``, same columns), read with openpyxl."""
    titles, header, rows = _sample_sheet(SAMPLE_LIST)
    return SampleList(titles, header, rows + _sample_sheet(SAMPLE_ERROR_ROWS)[2])


def _sample_sheet(path: Path) -> tuple[list[list[object]], list[str], list[list[object]]]:
    """(title rows, header, data rows without blank ones) of a sample list."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        cells = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    at = next(i for i, row in enumerate(cells) if sum(c is not None for c in row) >= 10)
    width = max(i for i, c in enumerate(cells[at]) if c is not None) + 1
    rows = [r[:width] for r in cells[at + 1 :] if any(c not in (None, "") for c in r)]
    titles = [[c for c in row if c is not None] for row in cells[:at]]
    return titles, [str(c) for c in cells[at][:width]], rows


def id_width(count: int) -> int:
    return max(6, len(str(count)))


def list_rows(sample: SampleList, count: int, width: int) -> list[list[object]]:
    """``count`` rows: the sample's rows over and over, ids ``CL-000001``..."""
    rows = sample.rows
    return [[f"CL-{i + 1:0{width}d}", *rows[i % len(rows)][1:]] for i in range(count)]


def write_list_xlsx(path: Path, sample: SampleList, count: int, width: int) -> None:
    """The list as the sample workbook lays it out (title rows, a blank row, the header)."""
    from xlsxwriter import Workbook

    temporary = path.with_name(path.name + ".part")
    book = Workbook(str(temporary), {"constant_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("候选项目")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    for number, row in enumerate(sample.titles):
        sheet.write_row(number, 0, row)
    first = len(sample.titles)
    sheet.write_row(first, 0, sample.header)
    for number, row in enumerate(list_rows(sample, count, width), start=first + 1):
        for column, value in enumerate(row):
            if isinstance(value, dt.datetime | dt.date):
                sheet.write_datetime(number, column, value, dates)
            elif value is not None:
                sheet.write(number, column, value)
    book.close()
    os.replace(temporary, path)


def list_frame(sample: SampleList, count: int, width: int):
    """The list as a DataFrame for CSV and Parquet: a column of whole numbers is Int64, of
    numbers float64, anything mixed (messy cells such as "1,200" or "2020年6月") text, dates
    as ``YYYY-MM-DD``."""
    import numpy as np
    import pandas as pd

    base = {}
    for column, name in enumerate(sample.header):
        values = [row[column] for row in sample.rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds <= {int}:
            base[name] = pd.array(values, dtype="Int64")
        elif kinds <= {int, float}:
            base[name] = pd.array([np.nan if v is None else float(v) for v in values])
        else:
            shown = [v.date().isoformat() if isinstance(v, dt.datetime) else v for v in values]
            base[name] = pd.array([None if v is None else str(v) for v in shown], dtype="string")
    frame = pd.DataFrame(base).iloc[np.arange(count) % len(sample.rows)].reset_index(drop=True)
    frame[sample.header[0]] = [f"CL-{i + 1:0{width}d}" for i in range(count)]
    return frame


def prepare_lists(folder: Path, count: int, kinds: tuple[str, ...]) -> tuple[dict, float | None]:
    """The list of ``count`` rows in each format of ``kinds`` (reused when present) and a
    head of the first LOOP_ROWS rows in each format, for the per-row loop. Returns the paths
    and the generation seconds (None when everything was reused)."""
    sample, width = sample_list(), id_width(count)
    paths = {kind: folder / f"list-{count}.{kind}" for kind in kinds}
    paths |= {f"head-{kind}": folder / f"list-{count}-head.{kind}" for kind in kinds}
    todo = [key for key, path in paths.items() if not path.exists()]
    if not todo:
        return paths, None
    start = time.perf_counter()
    frames = {}
    for key in todo:
        rows = min(LOOP_ROWS, count) if key.startswith("head-") else count
        kind, path = key.removeprefix("head-"), paths[key]
        if kind == "xlsx":
            write_list_xlsx(path, sample, rows, width)
            continue
        frame = frames.get(rows)
        if frame is None:
            frame = frames[rows] = list_frame(sample, rows, width)
        temporary = path.with_name(path.name + ".part")
        if kind == "csv":
            frame.to_csv(temporary, index=False, encoding="utf-8")
        else:
            frame.to_parquet(temporary, engine="pyarrow", index=False)
        os.replace(temporary, path)
    return paths, time.perf_counter() - start


def _write_form(task: tuple) -> None:
    """In a worker: one single-project workbook written with the engine's template writer."""
    import assessment

    path, lang, values, yearly, units = task
    temporary = path.with_name(path.stem + ".part.xlsx")
    assessment.write_template(temporary, lang, values=values, yearly=yearly, units=units)
    os.replace(temporary, path)


def form_fields(fields: list[dict]) -> tuple[list[dict], list[dict]]:
    """The fields bench_read.make_project fills, and the numeric fields it does not know (it
    stops on those; today ``fund_irr`` and ``reinvestment_share``, added after it was written)."""
    probe = random.Random(0)
    filled = {"project_id", "project_name", "sponsor", "city", "province", "hub", "cluster"}
    filled |= set(bench_read.scale_and_energy(probe)) | set(bench_read.finance(probe, 1.0))
    filled |= {"revenue_cny", "debt_service_cny", *bench_read.CNY_SHARES}
    by_type = ("choice", "bool", "date")
    extra = [f for f in fields if f["type"] not in by_type and f["name"] not in filled]
    return [f for f in fields if f not in extra], extra


def extra_value(rng: random.Random, field: dict) -> float:
    """A value within a field's plausible (else allowed) range; fractions within 0-1."""
    low = field["plausible_min"] or field["min"]
    high = field["plausible_max"] or field["max"]
    if low == "" or high == "":
        sys.exit(f"bench_screen: no range to draw {field['name']} from in fields.csv")
    low, high = float(low), float(high)
    if field["type"] == "fraction":
        low, high = max(low, 0.0), min(high, 1.0)
    return round(rng.uniform(low, high), 3)


def prepare_forms(folder: Path, count: int) -> tuple[list[Path], float | None]:
    """Workbooks ``bench-00001.xlsx``... as bench/bench_read.py generates them (same seeded
    projects, same template writer), the missing ones written by a pool of processes; files
    already there are reused (the generator is deterministic). Returns the first ``count``
    paths and the generation seconds (None when all were there)."""
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.part.xlsx"):
        leftover.unlink()
    foreign = [p for p in folder.iterdir() if not p.name.startswith("bench-")]
    if foreign:
        sys.exit(f"bench_screen: {folder} holds other files ({foreign[0].name})")
    paths = bench_read.bench_files(folder, count)
    missing = {path for path in paths if not path.exists()}
    if not missing:
        return paths, None
    start = time.perf_counter()
    fields, choices = bench_read.load_fields()
    known, extra = form_fields(fields)
    rng, more = random.Random(0), random.Random(1)  # 0: the seed of bench_read.generate
    tasks = []
    for index, path in enumerate(paths, start=1):
        lang, values, yearly, units = bench_read.make_project(rng, index, known, choices)
        values |= {field["name"]: extra_value(more, field) for field in extra}
        if path in missing:
            tasks.append((path, lang, values, yearly, units))
    spawn = multiprocessing.get_context("spawn")  # never fork this process (see in_child)
    with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=spawn) as pool:
        list(pool.map(_write_form, tasks, chunksize=50))
    return paths, time.perf_counter() - start


def folder_or_files(folder: Path, paths: list[Path]) -> list[str]:
    """The folder itself when it holds exactly these workbooks, else the files one by one."""
    if sorted(folder.glob("*.xlsx")) == sorted(paths):
        return [str(folder)]
    return [str(p) for p in paths]


# ============================================================================================
# Baselines
# ============================================================================================


class Loop(NamedTuple):
    seconds: float
    rows: int  # rows looked at
    scored: int  # of which scored (the rest have input errors: skipped, as the engine does)
    found: dict  # project_id -> (recommendation, pd)


def row_loop(head: Path) -> Loop:
    """The per-row way: the head file (first LOOP_ROWS rows of the list) read by the engine
    beforehand (not timed); then, timed, for each row: a one-project ``Applications`` (its
    fields, its yearly values, no problems, as the engine's batch scores a project) and
    ``score_read`` with the shipped rules and model, both loaded once before the loop. OpenMP
    (the model's trees) is held to one thread, so a busy core cannot inflate the loop."""
    import pandas as pd
    from threadpoolctl import threadpool_limits

    from assessment import load_rules, read_applications
    from assessment.intake.read import Applications
    from assessment.model.persist import default_model_path, load_model
    from assessment.pipeline import score_read

    projects, yearly, problems = read_applications([head], as_of=AS_OF)
    errors = set(problems.loc[problems["severity"] == "error", "project_id"])
    rules, model = load_rules(), load_model(default_model_path())
    ids = [str(i) for i in projects.index[:LOOP_ROWS]]
    none = pd.DataFrame(columns=problems.columns)
    found = {}
    with threadpool_limits(1):  # one row gains nothing from OpenMP threads (see the README)
        start = time.perf_counter()
        for pid in ids:
            if pid in errors:
                continue
            one = Applications(projects.loc[[pid]], yearly[yearly["project_id"] == pid], none)
            scored = score_read(one, as_of=AS_OF, rules=rules, model=model)
            found[pid] = (
                scored.decisions["recommendation"].iloc[0],
                float(scored.predictions["pd"].iloc[0]),
            )
        seconds = time.perf_counter() - start
    return Loop(seconds, len(ids), len(found), found)


def agreement(loop: Loop, workbook: Path) -> str:
    """How many of the loop's projects have the engine's recommendation and PD in the
    Screening sheet of ``screening.xlsx``."""
    from assessment.workbench.monitor import read_screening  # the table under the heading line

    engine = read_screening(workbook).set_index("project_id")
    same, differ = 0, []
    for pid, (recommendation, pd_) in loop.found.items():
        if pid in engine.index:
            row = engine.loc[pid]
            if row["recommendation"] == recommendation and abs(float(row["pd"]) - pd_) < 1e-9:
                same += 1
                continue
        differ.append(pid)
    text = f"{same} of {len(loop.found)} identical (recommendation and PD)"
    return text + (f"; differ: {', '.join(differ[:5])}" if differ else "")


def in_child(task: str, *arguments: str) -> dict:
    """Run ``task`` of this script in a fresh Python process and return its JSON answer.

    Library calls (``screen_inputs`` with a process pool) must not run in this process once it
    has used the model: the engine's pool forks, and a child forked from a process whose
    OpenMP (libgomp) threads have run hangs at its first parallel region (see the README)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", task, *arguments]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-5000:], sep="\n", file=sys.stderr)
        raise ScenarioFailed(f"child task {task} exited with code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def stages(inputs: list[str], out: Path) -> dict[str, float]:
    """Where the whole-process time goes (shown, not judged): a process that only imports
    the CLI module, then, in a fresh process, ``screen_inputs`` (default jobs) and
    ``write_screening_outputs`` on the same inputs."""
    command = [sys.executable, "-c", "import assessment.cli"]
    found = {"start + imports": timed(lambda: subprocess.run(command, check=True, cwd=ROOT))}
    return found | in_child("stages", str(out), *inputs)


def child_stages(out: str, *inputs: str) -> dict[str, float]:
    from assessment.model.persist import default_model_path
    from assessment.screening.batch import screen_inputs, write_screening_outputs
    from assessment.screening.records import Settings

    settings = Settings(as_of=AS_OF, model=str(default_model_path()))
    start = time.perf_counter()
    screening = screen_inputs(list(inputs), settings)
    middle = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    write_screening_outputs(screening, out, settings)
    end = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    return {"screen_inputs": middle - start, "write_outputs": end - middle}


def child_dask(path: str) -> dict:
    """``screen_inputs`` on ``path`` locally and on Dask, 2 processes / workers each; the
    frames compared with ``assert_frame_equal(check_exact=True)``, the manifests with ==."""
    import pandas as pd

    from assessment.model.persist import default_model_path
    from assessment.screening.batch import screen_inputs
    from assessment.screening.records import Settings

    settings = Settings(as_of=AS_OF, model=str(default_model_path()))
    screened, seconds = {}, {}
    for engine in ("local", "dask"):
        begin = time.perf_counter()
        screened[engine] = screen_inputs([path], settings, engine=engine, jobs=2)
        seconds[engine] = time.perf_counter() - begin
    local, dask = screened["local"], screened["dask"]
    found = {"seconds": seconds, "differences": {}}
    for part in ("results", "rejected"):
        try:
            pd.testing.assert_frame_equal(
                getattr(local, part), getattr(dask, part), check_exact=True
            )
        except AssertionError as error:
            found["differences"][part] = str(error)[:1500]
    if local.manifest != dask.manifest:
        found["differences"]["manifest"] = "the manifests differ"
    found["counts"] = {
        engine: [len(screened[engine].results), len(screened[engine].rejected)]
        for engine in screened
    }
    return found


CHILD_TASKS = {"stages": child_stages, "dask": child_dask}


def stages_text(found: dict[str, float]) -> str:
    parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in found.items())
    return f"breakdown (separate runs, not judged): {parts}"


EXTRAPOLATION = "start-up and imports as measured, the rest scaled linearly"


def extrapolate(seconds: float, parts: dict[str, float], count: int, target: int) -> float:
    """A reduced run's time scaled to the target size: start-up and imports (measured apart)
    stay, the rest grows linearly with the rows or files."""
    fixed = min(parts["start + imports"], seconds)
    return fixed + (seconds - fixed) * target / count


def timed(task) -> float:
    start = time.perf_counter()
    task()
    return time.perf_counter() - start


# ============================================================================================
# Report helpers
# ============================================================================================


cores = bench_read.cores


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def row(label: str, figure: str, target: str = "", judged: str = "") -> str:
    return f"{label:46}{figure:>22}  {target:12}{judged}"


def runs_text(runs: list[Run]) -> str:
    return ", ".join(f"{r.seconds:.2f}" for r in runs)


def gib(value: int) -> str:
    return f"{value / GIB:.2f}"


class Summary(list):
    """(scenario, what, figure, target, verdict) rows for the table at the end."""

    def add(self, scenario: str, what: str, figure: str, target: str, judged: str) -> None:
        self.append((scenario, what, figure, target, judged))


def heading(name: str, text: str) -> float:
    print(f"\n=== {name}: {text}")
    print(f"load average at start: {load()}")
    return time.perf_counter()


def footing(name: str, start: float) -> None:
    print(f"{name} took {time.perf_counter() - start:.0f} s in all; load average: {load()}")


def generated(seconds: float | None) -> str:
    return "reused kept files" if seconds is None else f"{seconds:.1f} s (not measured)"


# ============================================================================================
# Scenarios
# ============================================================================================


def scenario_list10k(args, folder: Path, scratch: Path, summary: Summary) -> None:
    import pandas as pd

    count, target = args.list_rows, TARGETS["list10k"]
    start = heading("list10k", f"a {count:,}-row candidate list workbook (.xlsx)")
    paths, made = prepare_lists(folder, count, ("xlsx",))
    file = paths["xlsx"]
    print(
        f"input: {file.name}, {file.stat().st_size / 2**20:.1f} MiB; generation: {generated(made)}"
    )
    out = scratch / "list10k"
    runs = [checked(run_screen([str(file)], out), "list10k") for _ in range(args.repeat)]
    best = min(r.seconds for r in runs)
    print(f"result: {counts_text(counts(out))} (exit code {runs[-1].code})")
    parts = stages([str(file)], scratch / "list10k-stages")
    print(stages_text(parts))
    read_s = timed(lambda: pd.read_excel(file, engine="openpyxl"))
    loop = row_loop(paths["head-xlsx"])
    per_row = loop.seconds / loop.rows
    baseline = read_s + per_row * count
    print(f"agreement, loop vs engine's screening.xlsx: {agreement(loop, out / 'screening.xlsx')}")
    print()
    print(row("", "figure", "target", "verdict"))
    judged = count == target["rows"]
    print(row("assess screen, whole process s, runs", runs_text(runs)))
    ok = best < target["seconds"]
    print(
        row(f"assess screen s, best of {len(runs)}", f"{best:.2f}", "< 6 s", _at_most(ok, judged))
    )
    print(row("  peak memory GiB, largest process", gib(max(r.max_one for r in runs))))
    print(row("baseline pandas.read_excel openpyxl s", f"{read_s:.2f}"))
    print(
        row(
            f"baseline per-row loop ms/row ({loop.rows} rows)",
            f"{per_row * 1000:.1f}",
        )
    )
    print(row(f"baseline per-row loop s, x {count:,} (extrap.)", f"{per_row * count:.1f}"))
    print(row("baseline total s (read + loop, extrap.)", f"{baseline:.1f}"))
    ratio = baseline / best
    print(row("ratio baseline / assess screen", f"{ratio:.1f}x", ">= 10x", _j(ratio >= 10, judged)))
    print(row("CPU cores (os.cpu_count)", cores()))
    print(
        f"(loop: {loop.rows} rows, {loop.scored} scored, {loop.rows - loop.scored} skipped for "
        "input errors; its time is extrapolated linearly to all rows. The baseline does less "
        "work: no header matching, unit conversion or checks on the pandas frame, no "
        "screening.xlsx, summary.pdf or manifest.)"
    )
    if not judged:
        estimate = extrapolate(best, parts, count, target["rows"])
        print(f"(not judged with {count:,} rows; EXTRAPOLATED to 10,000: {estimate:.2f} s)")
    summary.add("list10k", "whole process s", f"{best:.2f}", "< 6 s", _at_most(ok, judged))
    summary.add(
        "list10k", "ratio baseline / engine", f"{ratio:.1f}x", ">= 10x", _j(ratio >= 10, judged)
    )
    footing("list10k", start)


def _j(ok: bool, judged: bool) -> str:
    return verdict(ok) if judged else "not judged"


def _at_most(ok: bool, judged: bool) -> str:
    """The verdict on a time or memory limit: a reduced input that already exceeds it fails
    (more rows or files cannot take less time or memory); one within it is not judged."""
    if judged:
        return verdict(ok)
    return "not judged" if ok else "NOT MET (reduced size)"


def scenario_forms10k(args, folder: Path, scratch: Path, summary: Summary) -> None:
    import pandas as pd

    count, target = args.files, TARGETS["forms10k"]
    start = heading("forms10k", f"{count:,} single-project workbooks (bench_read's generator)")
    paths, made = prepare_forms(folder / "forms", count)
    inputs = folder_or_files(folder / "forms", paths)
    shown = "the folder" if len(inputs) == 1 else f"{len(inputs):,} file arguments"
    print(f"input: {shown} ({folder / 'forms'}); generation: {generated(made)}")
    out = scratch / "forms10k"
    runs = [checked(run_screen(inputs, out), "forms10k") for _ in range(args.repeat)]
    best = min(r.seconds for r in runs)
    print(f"result: {counts_text(counts(out))} (exit code {runs[-1].code})")
    parts = stages(inputs, scratch / "forms10k-stages")
    print(stages_text(parts))
    baseline = timed(lambda: [pd.read_excel(p, sheet_name=None, engine="openpyxl") for p in paths])
    judged = count == target["files"]
    print()
    print(row("", "figure", "target", "verdict"))
    print(row("assess screen, whole process s, runs", runs_text(runs)))
    ok = best < target["seconds"]
    print(
        row(f"assess screen s, best of {len(runs)}", f"{best:.2f}", "< 15 s", _at_most(ok, judged))
    )
    print(row("  files/s", f"{count / best:.0f}"))
    print(row("  peak memory GiB, largest process", gib(max(r.max_one for r in runs))))
    print(row("baseline pandas.read_excel openpyxl s", f"{baseline:.1f}"))
    print(row("ratio baseline / assess screen", f"{baseline / best:.1f}x"))
    print(row("CPU cores (os.cpu_count; default --jobs)", cores()))
    print(
        "(the baseline only loads every sheet of every file into DataFrames: no field "
        "matching, units, checks, scoring or output files, i.e. less work)"
    )
    figure = f"{best:.2f}"
    if not judged:
        estimate = extrapolate(best, parts, count, target["files"])
        print(
            f"(reduced size: {count:,} files; EXTRAPOLATED to 10,000: {estimate:.1f} s -> "
            f"{verdict(estimate < target['seconds'])} if it scales so)"
        )
        figure = f"{best:.2f} ({count:,} f.); ~{estimate:.1f} extrap."
    summary.add("forms10k", "whole process s", figure, "< 15 s", _at_most(ok, judged))
    footing("forms10k", start)


def scenario_reports1k(args, folder: Path, scratch: Path, summary: Summary) -> None:
    count, target = args.report_files, TARGETS["reports1k"]
    start = heading("reports1k", f"{count:,} per-project PDF memos (en) from single-project forms")
    paths, made = prepare_forms(folder / "forms", count)
    inputs = folder_or_files(folder / "forms", paths)
    print(
        f"input: the first {count:,} workbooks of {folder / 'forms'}; generation: {generated(made)}"
    )
    out = scratch / "reports1k"
    found, written = {}, {}
    for jobs in (2, 1):
        for reports in (True, False):
            options = ["--jobs", str(jobs)] + (["--reports"] if reports else [])
            found[(jobs, reports)] = checked(run_screen(inputs, out, *options), "reports1k")
            if reports:
                written[jobs] = len(list((out / "reports").glob("*.pdf")))
    scored = counts(out)
    print(
        f"result: {counts_text(scored)}; PDFs written: {written[2]:,} (--jobs 2), "
        f"{written[1]:,} (--jobs 1)"
    )
    two = found[(2, True)].seconds - found[(2, False)].seconds
    one = found[(1, True)].seconds - found[(1, False)].seconds
    judged = count == target["files"]
    ok = two < target["seconds"] and written[2] == scored["projects_scored"]
    print()
    print(row("", "figure", "target", "verdict"))
    print(row("--jobs 2 --reports, whole process s", f"{found[(2, True)].seconds:.2f}"))
    print(row("--jobs 2, no --reports s", f"{found[(2, False)].seconds:.2f}"))
    print(
        row("memos with 2 processes s (difference)", f"{two:.2f}", "< 30 s", _at_most(ok, judged))
    )
    print(row("  memos/s (2 processes)", f"{written[2] / two:.1f}"))
    print(row("--jobs 1 --reports, whole process s", f"{found[(1, True)].seconds:.2f}"))
    print(row("--jobs 1, no --reports s", f"{found[(1, False)].seconds:.2f}"))
    print(row("memos with 1 process s (difference)", f"{one:.2f}"))
    print(row("  memos/s (1 process)", f"{written[1] / one:.1f}"))
    print(row("ratio 1 process / 2 processes (memos)", f"{one / two:.2f}x"))
    print(row("CPU cores (os.cpu_count)", cores()))
    print("(one run each; the memo time is the difference of two whole-process runs)")
    summary.add("reports1k", "memos s, 2 processes", f"{two:.2f}", "< 30 s", _at_most(ok, judged))
    footing("reports1k", start)


def scenario_list1m(args, folder: Path, scratch: Path, summary: Summary) -> None:
    import pandas as pd

    count, target = args.rows, TARGETS["list1m"]
    start = heading("list1m", f"a {count:,}-row candidate list, CSV and Parquet")
    paths, made = prepare_lists(folder, count, ("csv", "parquet"))
    sizes = ", ".join(
        f"{paths[k].name} {paths[k].stat().st_size / 2**20:.0f} MiB" for k in ("csv", "parquet")
    )
    print(f"inputs: {sizes}; generation: {generated(made)}")
    judged = count == target["rows"]
    results = {}
    for kind in ("csv", "parquet"):
        out = scratch / f"list1m-{kind}"
        run = checked(run_screen([str(paths[kind])], out, "--jobs", str(args.jobs)), kind)
        results[kind] = run
        print(
            f"{kind}: {counts_text(counts(out))} (exit code {run.code}); "
            f"{run.processes} processes seen; wrote "
            + ", ".join(sorted(p.name for p in out.iterdir()))
        )
        shutil.rmtree(out, ignore_errors=True)
    parts = stages([str(paths["csv"])], scratch / "list1m-stages")
    print(f"csv {stages_text(parts)}")
    before = _before_list1m(args, paths["csv"], scratch) if args.before else None
    fixed = {}  # what does not grow with the rows: a whole screen of the 200-row head list
    if not judged:
        head = run_screen([str(paths["head-csv"])], scratch / "list1m-head", "--jobs", "1")
        fixed = {"start + imports": checked(head, "head").seconds}
        seconds = fixed["start + imports"]
        print(f"fixed part (a 200-row screen, whole process, --jobs 1): {seconds:.2f} s")
    seconds_target = f"< {target['seconds']:.0f} s"
    memory_target = f"< {target['memory'] / GIB:.0f} GiB"

    def read_csv() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DtypeWarning for the mixed columns
            pd.read_csv(paths["csv"])

    read_s = timed(read_csv)
    loop = row_loop(paths["head-csv"])
    per_row = loop.seconds / loop.rows
    baseline = read_s + per_row * count
    print()
    print(row("", "figure", "target", "verdict"))
    for kind, run in results.items():
        ok_time = run.seconds < target["seconds"]
        memory_ok = run.hwm_sum < target["memory"]
        print(
            row(
                f"{kind}: assess screen --jobs {args.jobs} s",
                f"{run.seconds:.1f}",
                seconds_target,
                _at_most(ok_time, judged),
            )
        )
        print(row(f"{kind}:   rows/s", f"{count / run.seconds:,.0f}"))
        print(row(f"{kind}:   peak GiB, largest single process", gib(run.max_one)))
        print(
            row(
                f"{kind}:   peak GiB, sum of each process's peak",
                gib(run.hwm_sum),
                memory_target,
                _at_most(memory_ok, judged),
            )
        )
        print(
            row(
                f"{kind}:   peak GiB, sampled sum PSS / RSS",
                f"{gib(run.pss_sum)} / {gib(run.rss_sum)}",
            )
        )
        print(row(f"{kind}:   ratio baseline / assess screen", f"{baseline / run.seconds:.1f}x"))
        figure = f"{run.seconds:.1f}"
        if not judged:
            estimate = extrapolate(run.seconds, fixed, count, target["rows"])
            figure += f" ({count:,} rows); ~{estimate:.0f} extrap."
        summary.add(
            "list1m", f"{kind} whole process s", figure, seconds_target, _at_most(ok_time, judged)
        )
        summary.add(
            "list1m",
            f"{kind} peak GiB (sum of peaks)",
            gib(run.hwm_sum),
            memory_target,
            _at_most(memory_ok, judged),
        )
    if before is not None:
        _print_before(before, results["csv"], args)
    print(row("baseline pandas.read_csv s (loading only)", f"{read_s:.2f}"))
    print(row(f"baseline per-row loop ms/row ({loop.rows} rows)", f"{per_row * 1000:.1f}"))
    print(row(f"baseline total s (read + loop x {count:,}, extrap.)", f"{baseline:,.0f}"))
    print(row("CPU cores (os.cpu_count)", cores()))
    print(
        "(one run per format. Memory: 'largest single process' is wait4's ru_maxrss, what "
        "/usr/bin/time -v and RUSAGE_CHILDREN report: the peak of ONE process, not of the "
        f"{args.jobs} workers and the parent together. 'sum of each process's peak' adds every "
        "process's own VmHWM (an upper bound: the peaks need not coincide and pages shared "
        "after fork count once per process); 'sampled sum' is the largest sum over the tree "
        "seen in /proc every 0.1 s (a lower bound). The requirement is judged on the upper "
        "bound.)"
    )
    if not judged:
        print(
            f"(REDUCED size: {count:,} rows. 'extrap.' = a 200-row screen's whole time kept (start-"
            "up, imports, rules, model, outputs), the rest scaled linearly to 1,000,000 rows. "
            "A limit already exceeded at the reduced size is NOT MET: more rows cannot take "
            "less time or memory; one kept is not judged.)"
        )
    footing("list1m", start)


def _before_list1m(args, csv: Path, scratch: Path) -> Run:
    """The CSV list screened by the engine before issue 19 (``args.baseline``), same options."""
    out = scratch / "list1m-before"
    run = checked(
        run_screen([str(csv)], out, "--jobs", str(args.jobs), revision=args.baseline), "before"
    )
    print(f"csv, before issue 19 ({args.baseline[:7]}): {counts_text(counts(out))}")
    shutil.rmtree(out, ignore_errors=True)
    return run


def _print_before(before: Run, today: Run, args) -> None:
    label = f"csv: before issue 19 ({args.baseline[:7]}), --jobs {args.jobs}"
    print(row(f"{label} s", f"{before.seconds:.1f}"))
    print(row("csv:   before, peak GiB, sum of each process's peak", gib(before.hwm_sum)))
    print(row("csv:   ratio before / today (time)", f"{before.seconds / today.seconds:.2f}x"))


def scenario_dask1m(args, folder: Path, scratch: Path, summary: Summary) -> None:
    count = args.rows
    start = heading("dask1m", f"the {count:,}-row CSV list on Dask (2 workers) and locally")
    paths, made = prepare_lists(folder, count, ("csv", "parquet"))
    print(f"input: {paths['csv'].name}; generation: {generated(made)}")
    found = in_child("dask", str(paths["csv"]))
    seconds = found["seconds"]
    for part, text in found["differences"].items():
        print(f"{part} differ: {text}")
    identical = not found["differences"]
    (local_scored, local_rejected), (dask_scored, dask_rejected) = found["counts"].values()
    print(
        f"local: {local_scored:,} scored, {local_rejected:,} rejected; "
        f"dask: {dask_scored:,} scored, {dask_rejected:,} rejected"
    )
    print()
    print(row("", "figure", "target", "verdict"))
    print(row("screen_inputs engine=local jobs=2 s", f"{seconds['local']:.1f}"))
    print(row("screen_inputs engine=dask jobs=2 s", f"{seconds['dask']:.1f}"))
    print(row("ratio dask / local", f"{seconds['dask'] / seconds['local']:.2f}x"))
    print(
        row(
            "results, rejected, manifest identical",
            "yes" if identical else "NO",
            "identical",
            verdict(identical),
        )
    )
    print(
        "(library calls in one fresh process, no output files; the Dask time includes starting "
        "and stopping its LocalCluster; frames compared with assert_frame_equal(check_exact=True))"
    )
    label = "identical" + ("" if count == TARGETS["list1m"]["rows"] else f" ({count:,} rows)")
    summary.add(
        "dask1m", "dask == local results", "yes" if identical else "NO", label, verdict(identical)
    )
    footing("dask1m", start)


RUNNERS = {
    "list10k": scenario_list10k,
    "forms10k": scenario_forms10k,
    "reports1k": scenario_reports1k,
    "list1m": scenario_list1m,
    "dask1m": scenario_dask1m,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        help="run this scenario (repeatable; default: all)",
    )
    parser.add_argument("--list-rows", type=int, default=10_000, help="rows of list10k")
    parser.add_argument("--files", type=int, default=10_000, help="workbooks of forms10k")
    parser.add_argument("--report-files", type=int, default=1_000, help="memos of reports1k")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of list1m and dask1m")
    parser.add_argument("--jobs", type=int, default=2, help="--jobs of list1m (default 2)")
    parser.add_argument(
        "--before",
        action="store_true",
        help="list1m: also screen the CSV list with the engine before issue 19 (one more run)",
    )
    parser.add_argument("--baseline", default=BEFORE_ISSUE_19, help="the revision of --before")
    parser.add_argument(
        "--repeat", type=int, default=REPEATS, help="runs of list10k and forms10k (best of)"
    )
    parser.add_argument("--keep", type=Path, help="folder to write the inputs to and reuse")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)  # TASK ARGUMENT...
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(CHILD_TASKS[args.child[0]](*args.child[1:])))
        return
    if min(args.list_rows, args.files, args.report_files, args.rows, args.repeat, args.jobs) < 1:
        parser.error("sizes, --jobs and --repeat must be at least 1")
    args.scenario = args.scenario or list(SCENARIOS)
    print(
        f"Screening benchmark: assess screen ... --as-of {AS_OF}; scenarios: "
        f"{', '.join(args.scenario)}"
    )
    print(f"command: {' '.join(screen_command())} screen INPUT... -o OUT --as-of {AS_OF}")
    print(f"CPU cores (os.cpu_count): {cores()}; load average at start: {load()}")
    print(f"Python {sys.version.split()[0]}")
    summary, failed = Summary(), []
    with tempfile.TemporaryDirectory(prefix="bench_screen_") as scratch:
        folder = args.keep or Path(scratch) / "inputs"
        folder.mkdir(parents=True, exist_ok=True)
        for name in (s for s in SCENARIOS if s in args.scenario):
            try:
                RUNNERS[name](args, folder, Path(scratch), summary)
            except ScenarioFailed as error:
                print(f"{name}: FAILED: {error}")
                failed.append(name)
                summary.add(name, "run", "failed", "", "NOT MET")
    print("\nSummary")
    print(f"{'scenario':11}{'what':32}{'figure':>34}  {'target':24}verdict")
    for scenario, what, figure, target, judged in summary:
        print(f"{scenario:11}{what:32}{figure:>34}  {target:24}{judged}")
    print(f"load average at the end: {load()}")
    if failed:
        sys.exit(f"bench_screen: failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
