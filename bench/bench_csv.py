"""The CSV of a big screening result: ``write_csv`` (column by column, ``_shared.csv_blocks``)
beside pandas' ``to_csv`` of the same frame, in the same run.

Above Excel's row limit ``assess screen`` writes every result to ``screening.csv``; on a list of
millions that file was most of the driver's (and a Dask client's) time. What is measured: a
candidate list of N rows (default 100,000; ``bench_screen.prepare_lists``) screened once in
this process (``--jobs``, default 2), then its results written by ``write_csv`` and by
``csv_safe(frame).to_csv(...)`` (what ``write_csv`` did before), each ``--repeats`` times in
turns (best of each: wall clock, CPU time of this process, and how much its resident memory
grew during the write), and the two files compared byte for byte (the exit code is 1 when they
differ).

Usage: ``python bench/bench_csv.py [--rows N] [--jobs J] [--repeats K] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from baseline import machine  # noqa: E402
from bench_screen import prepare_lists  # noqa: E402

from assessment._shared.files import csv_safe, write_atomically, write_csv  # noqa: E402
from assessment.screening.batch import screen_inputs  # noqa: E402
from assessment.screening.records import Settings  # noqa: E402


def pandas_csv(frame, path: Path) -> Path:
    """``write_csv`` as it was: pandas writes every cell."""
    safe = csv_safe(frame)
    writing = lambda t: safe.to_csv(t, index=False, encoding="utf-8-sig", lineterminator="\n")  # noqa: E731
    return write_atomically(path, writing)


def timed(write, frame, path: Path) -> tuple[float, float, float]:
    """Wall clock, CPU time and the most this process's resident memory grew (GiB, sampled
    every 10 ms) while ``write`` ran."""

    def cpu() -> float:
        used = resource.getrusage(resource.RUSAGE_SELF)
        return used.ru_utime + used.ru_stime

    start, peak, done = resident(), [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], resident() - start)

    sampler = threading.Thread(target=sample)
    sampler.start()
    wall, spent = time.perf_counter(), cpu()
    write(frame, path)
    wall, spent = time.perf_counter() - wall, cpu() - spent
    done.set()
    sampler.join()
    return wall, spent, peak[0] / 2**30


def resident() -> int:
    """This process's resident memory in bytes (Linux)."""
    with open("/proc/self/statm") as status:
        return int(status.read().split()[1]) * resource.getpagesize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="folder to write the list to and reuse")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="bench_csv_") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        paths, _ = prepare_lists(folder, args.rows, ("csv",))
        settings = Settings(as_of=dt.date(2025, 6, 30))
        results = screen_inputs([str(paths["csv"])], settings, jobs=args.jobs).results
        print(f"results: {len(results):,} rows x {results.shape[1]} columns")
        writers = {
            "pandas to_csv": pandas_csv,
            "write_csv": lambda f, p: write_csv(f, p, encoding="utf-8-sig"),
        }
        best = {name: (float("inf"),) * 3 for name in writers}
        for _ in range(args.repeats):
            for name, write in writers.items():
                found = timed(write, results, Path(scratch) / f"{name}.csv")
                best[name] = tuple(map(min, best[name], found))
        same = (Path(scratch) / "pandas to_csv.csv").read_bytes() == (
            Path(scratch) / "write_csv.csv"
        ).read_bytes()
    for name, (wall, cpu, grown) in best.items():
        print(f"{name:14} {wall:7.2f} s wall {cpu:7.2f} s CPU, memory grown by {grown:.2f} GiB")
    before, after = best["pandas to_csv"][1], best["write_csv"][1]  # CPU time
    print(f"ratio (CPU, pandas / write_csv): {before / after:.2f}x; the same bytes: {same}")
    print(f"machine at the end: {machine()}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
