"""Dask scaling (issue 19, scale-out): ``assess screen --engine dask`` on 1, 2 and 4 workers
over a list of N rows split in files, as an agency's nationwide list would come, beside the
local engine (``--jobs 2``, the baseline) in the same run.

The list (default 4,000,000 rows in 16 CSV files; ``--format parquet`` for Parquet) is made
from the sample candidate list (bench_screen.py's ``sample_list``/``list_frame``: the sample's
rows repeated, each with its own project id), or reused from ``--keep DIR``. Each run is
``assess screen INPUTS -o OUT --as-of 2025-06-30 [--engine dask --jobs W]`` as a whole process
timed by the wall clock (start-up, the cluster's start and stop, every output file), its
memory sampled over the process tree (PSS and RSS of all processes together: the client, the
nanny and worker processes). The Dask runs name their inputs as one ``file://`` glob URL, so
each worker opens its own chunks; the local run names the files. Every run's results must
equal the local run's: the full result (``screening.parquet`` above Excel's row limit, else
the Screening sheet), the Rejected sheet and the manifest's counts and inputs.

Against a running cluster: ``--scheduler tcp://HOST:PORT --url-prefix s3://bucket/list``
(the files must already be there, named ``part-NN.csv`` or ``.parquet``; ``--keep DIR`` names
a local copy of them for the local baseline, made when missing). The workers of that cluster
are counted from the scheduler.

Usage: ``python bench/bench_dask_scaling.py [--rows N] [--files N] [--format csv|parquet]
[--workers 1,2,4] [--keep DIR] [--scheduler ADDRESS --url-prefix URL]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import baseline  # noqa: E402
import bench_screen  # noqa: E402
from bench_screen import GIB, Run, checked, id_width, list_frame, run_screen, sample_list  # noqa: E402

ROWS = 4_000_000
FILES = 16
WORKERS = (1, 2, 4)
LOCAL_JOBS = 2


class Measured(NamedTuple):
    label: str
    workers: int
    run: Run
    same: str  # "yes", or what differs from the local run


def make_list(folder: Path, rows: int, files: int, kind: str) -> tuple[list[Path], float | None]:
    """``files`` files ``part-NN.<kind>`` holding ``rows`` rows in all (reused when all are
    there), and the seconds it took to write them (None: reused)."""
    paths = [folder / f"part-{number:02d}.{kind}" for number in range(files)]
    if all(path.exists() for path in paths):
        return paths, None
    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    sample = sample_list()
    each, extra = divmod(rows, files)
    frame = list_frame(sample, each + 1 + len(sample.rows), id_width(rows))
    offset = 0
    for number, path in enumerate(paths):
        count = each + (number < extra)
        _write_part(frame, path, offset, count, sample, id_width(rows))
        offset += count
    return paths, time.perf_counter() - start


def _write_part(frame, path: Path, offset: int, count: int, sample, width: int) -> None:
    """Rows ``offset`` to ``offset + count - 1`` of the whole list, as ``path``."""
    first = offset % len(sample.rows)
    part = frame.iloc[first : first + count].reset_index(drop=True)
    part[sample.header[0]] = [f"CL-{offset + i + 1:0{width}d}" for i in range(count)]
    temporary = path.with_name(path.name + ".part")
    if path.suffix == ".csv":
        part.to_csv(temporary, index=False, encoding="utf-8")
    else:
        part.to_parquet(temporary, engine="pyarrow", index=False)
    temporary.replace(path)


def outputs_of(out: Path) -> dict:
    """What a run's results are compared by: the full result, the Rejected sheet, the
    manifest's counts and inputs (without the files' hashes: a URL's is not computed)."""
    import pandas as pd

    found = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    inputs = [{k: v for k, v in item.items() if k != "sha256"} for item in found["inputs"]]
    full = out / "screening.parquet"
    sheets = ["Rejected"] if full.exists() else ["Screening", "Rejected"]
    book = pd.read_excel(out / "screening.xlsx", sheet_name=sheets, engine="calamine")
    if full.exists():
        book["screening.parquet"] = pd.read_parquet(full)
    return {"counts": found["counts"], "inputs": inputs, **book}


def differences(found: dict, expected: dict) -> str:
    """'yes' when the outputs are the same, else what differs."""
    import pandas as pd

    for key, value in expected.items():
        if isinstance(value, pd.DataFrame):
            problem = _frame_difference(found[key], value)
            if problem:
                return f"{key}: {problem}"
        elif found[key] != value:
            return f"{key} differ"
    return "yes"


def _frame_difference(found, expected) -> str:
    """What differs between two frames ("" for nothing): columns, dtypes, then each column's
    values by their hashes (``pandas.util.hash_pandas_object``: array operations, where
    ``assert_frame_equal`` boxes every value of a categorical column: minutes on millions of
    rows), and on a hash mismatch the column compared in full."""
    import numpy as np
    import pandas as pd

    if list(found.columns) != list(expected.columns) or len(found) != len(expected):
        return f"columns or rows differ ({found.shape} / {expected.shape})"
    for name in expected.columns:
        new, old = found[name], expected[name]
        if new.dtype != old.dtype:
            return f"column {name!r}: dtype {new.dtype} / {old.dtype}"
        hashed = [pd.util.hash_pandas_object(c, index=False).to_numpy() for c in (new, old)]
        if not np.array_equal(*hashed):
            try:
                pd.testing.assert_series_equal(new, old)
            except AssertionError as error:
                return f"column {name!r}: {str(error).splitlines()[0]}"
    return ""


def measure(label, workers, inputs, out, expected, *options) -> Measured:
    run = checked(run_screen(inputs, out, *options), label)
    same = differences(outputs_of(out), expected) if expected is not None else "yes"
    print(f"  {label}: {run.seconds:.1f} s, exit {run.code}, same as local: {same}", flush=True)
    return Measured(label, workers, run, same)


def scheduler_workers(address: str) -> int:
    from distributed import Client

    with Client(address, timeout="20s") as client:
        return len(client.scheduler_info()["workers"])


def report(rows: int, results: list[Measured]) -> None:
    one = next((m for m in results if m.workers == 1 and m.label.startswith("dask")), None)
    local = results[0]
    print()
    head = f"{'run':26}{'s':>8}{'rows/s':>11}{'rows/s/worker':>15}{'speed-up':>10}"
    print(head + f"{'vs local':>10}{'PSS GiB':>9}{'RSS GiB':>9}{'procs':>7}  same as local")
    for m in results:
        rate = rows / m.run.seconds
        speed = f"{one.run.seconds / m.run.seconds:.2f}x" if one and m is not local else ""
        print(
            f"{m.label:26}{m.run.seconds:8.1f}{rate:11,.0f}{rate / m.workers:15,.0f}{speed:>10}"
            f"{local.run.seconds / m.run.seconds:9.2f}x{m.run.pss_sum / GIB:9.2f}"
            f"{m.run.rss_sum / GIB:9.2f}{m.run.processes:7d}  {m.same}"
        )
    print(
        "(speed-up: against dask with 1 worker; vs local: the local run's time over this run's; "
        "PSS/RSS: the largest sum over all processes at one instant; procs: processes seen)"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    print(f"Dask scaling: {args.rows:,} rows in {args.files} {args.format} files")
    print(f"machine: {baseline.machine()}")
    print(f"command: {' '.join(bench_screen.screen_command())} screen INPUTS -o OUT --as-of ...")
    with tempfile.TemporaryDirectory(prefix="bench_dask_scaling_") as scratch:
        folder = args.keep or Path(scratch) / "list"
        paths, made = make_list(folder, args.rows, args.files, args.format)
        written = "reused" if made is None else f"written in {made:.1f} s (not measured)"
        print(f"inputs: {folder} ({written})")
        results = runs(args, paths, Path(scratch))
    report(args.rows, results)
    print(f"load average at the end: {bench_screen.load()}")
    return 0 if all(m.same == "yes" for m in results) else 1


def runs(args, paths: list[Path], scratch: Path) -> list[Measured]:
    chunking = ("--chunk-rows", str(args.chunk_rows))
    local = measure(
        f"local --jobs {LOCAL_JOBS}", LOCAL_JOBS, list(map(str, paths)), scratch / "local",
        None, "--jobs", str(LOCAL_JOBS), *chunking,
    )  # fmt: skip
    expected = outputs_of(scratch / "local")
    results = [local]
    glob = f"{args.url_prefix or paths[0].parent.as_uri()}/part-*.{args.format}"
    if args.scheduler:
        workers = scheduler_workers(args.scheduler)
        options = ("--engine", "dask", "--scheduler", args.scheduler, *chunking)
        label = f"dask remote, {workers} workers"
        return [*results, measure(label, workers, [glob], scratch / "dask", expected, *options)]
    for workers in args.workers:
        options = ("--engine", "dask", "--jobs", str(workers), *chunking)
        label = f"dask --jobs {workers}"
        results.append(measure(label, workers, [glob], scratch / "dask", expected, *options))
    return results


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS, help="rows in all (default 4,000,000)")
    parser.add_argument("--files", type=int, default=FILES, help="files (default 16)")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--workers", default="1,2,4", help="Dask workers of each run")
    parser.add_argument("--chunk-rows", type=int, default=25_000, help="assess --chunk-rows")
    parser.add_argument("--keep", type=Path, help="folder to write the list to and reuse")
    parser.add_argument("--scheduler", help="a running Dask scheduler (tcp://HOST:PORT)")
    parser.add_argument("--url-prefix", help="where the workers read the files (s3://...)")
    args = parser.parse_args(argv)
    args.workers = [int(w) for w in args.workers.split(",")]
    if min(args.rows, args.files, args.chunk_rows, *args.workers) < 1:
        parser.error("--rows, --files, --chunk-rows and --workers must be at least 1")
    args.url_prefix = args.url_prefix.rstrip("/") if args.url_prefix else None
    return args


if __name__ == "__main__":
    sys.exit(main())
