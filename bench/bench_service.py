"""The web service under load on loopback: concurrent uploads to a real ``assess serve``.

Requirement (issue 18): 20 concurrent uploads all succeed and each is in the register exactly
once; the p95 latency of an upload-to-decision (with the memo) is under 1 s.

What is measured, in one script run:

* a real ``assess serve`` process on a free loopback port, its register a new SQLite file (or
  ``--database URL``), with an officer made by ``assess users add``;
* baseline: the same work in this process without HTTP or a database: reading, scoring and
  writing the memo of the workbook (``score_applications`` + ``write_report``), median of 5;
* sequential: ``--uploads`` uploads one after the other (``POST /assessments``), p50 and p95
  latency (the target's measure: one officer's upload to decision, memo included);
* concurrent: ``--uploads`` (20) uploads at once from as many threads; p50 and p95 latency and
  the wall time; then the register is listed and each upload's id must be in it exactly once;
* both for each ``--workers`` count (default 1 and 2 service processes, ``assess serve
  --workers N``), each on a register of its own.

Latencies are printed in seconds and as ratios to the baseline. Usage:
``python bench/bench_service.py [--uploads 20] [--workers 1,2] [--database URL]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
WORKBOOK = ROOT / "sample_projects" / "10_horinger_green_credit_ai.xlsx"
AS_OF = "2025-06-30"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assess(*args: str, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "assessment", *args], capture_output=True, text=True, env=env
    )
    if done.returncode:
        raise SystemExit(f"assess {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def start_service(database: str, workers: int, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = ["serve", "--port", str(port), "--database", database, "--quiet"]
    args += ["--workers", str(workers)]
    process = subprocess.Popen([sys.executable, "-m", "assessment", *args], env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("assess serve did not answer /health within a minute")


def upload(url: str, token: str) -> tuple[float, str]:
    started = time.perf_counter()
    response = httpx.post(
        f"{url}/assessments",
        files={"file": (WORKBOOK.name, WORKBOOK.read_bytes())},
        data={"as_of": AS_OF},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    if response.status_code != 201:
        raise SystemExit(f"upload failed: {response.status_code} {response.text[:300]}")
    return time.perf_counter() - started, response.json()["id"]


def baseline() -> float:
    from assessment.pipeline import score_applications
    from assessment.reports.memo.write import write_report

    times = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(5):
            started = time.perf_counter()
            scored = score_applications([WORKBOOK], as_of=AS_OF)
            write_report(scored, str(scored.frame.index[0]), Path(folder) / "memo.pdf")
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--workers", default="1,2", help="service processes, e.g. 1,2")
    parser.add_argument("--database", help="a register URL (default: a new SQLite file)")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    base = baseline()
    print(f"baseline (score + memo in process, median of 5): {base:.3f} s")
    for workers in (int(n) for n in args.workers.split(",")):
        print(f"-- assess serve --workers {workers}")
        with tempfile.TemporaryDirectory() as folder:
            database = args.database or str(Path(folder) / "register.sqlite")
            user = f"bench{workers}"
            made = assess(
                "users", "add", user, "--role", "officer", "--database", database, env=env
            )
            process, url = start_service(database, workers, env)
            try:
                report(url, made.strip().split()[-1], base, args.uploads)
            finally:
                process.terminate()
                process.wait(timeout=30)


def report(url: str, token: str, base: float, uploads: int) -> None:
    sequential = [upload(url, token)[0] for _ in range(uploads)]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(uploads) as pool:
        done = list(pool.map(lambda _: upload(url, token), range(uploads)))
    wall = time.perf_counter() - started
    latencies, ids = [d[0] for d in done], [d[1] for d in done]
    listed = httpx.get(f"{url}/assessments", headers={"Authorization": f"Bearer {token}"}).json()
    stored = [row["id"] for row in listed["assessments"]]
    once = all(stored.count(i) == 1 for i in ids)
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    one50, one95 = percentile(sequential, 0.5), percentile(sequential, 0.95)
    print(
        f"{uploads} uploads one after the other: p50 {one50:.3f} s ({one50 / base:.2f}x the "
        f"baseline), p95 {one95:.3f} s ({one95 / base:.2f}x); target p95 < 1 s: "
        f"{'met' if one95 < 1 else 'not met'}"
    )
    print(
        f"{uploads} concurrent uploads: all 201; wall {wall:.2f} s; p50 {p50:.3f} s "
        f"({p50 / base:.2f}x), p95 {p95:.3f} s ({p95 / base:.2f}x): each service process "
        "scores one upload at a time, so the last waits for the others"
    )
    print(f"each upload in the register exactly once: {once} ({len(set(ids))} ids)")


if __name__ == "__main__":
    main()
