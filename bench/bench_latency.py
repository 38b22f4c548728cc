"""Where one person waits: a command starting, one application scored, one memo written; today
beside the code before issue 19 (commit ``4e70352``), both measured in the same run.

Targets (issue 19), on one sample workbook (``sample_projects/10_horinger_green_credit_ai.xlsx``,
as of 2025-06-30):

* ``assess --help`` as a whole process: under 0.3 s;
* ``assess score FILE --as-of 2025-06-30`` as a whole process (text printed): under 1.2 s;
* one application warm in the library, read + indicators + rules + model + decision
  (``score_applications([FILE], as_of=...)`` called again in the same process): under 25 ms;
* the same with its PDF memo (``reports.memo.write.write_report``): under 80 ms, the latency
  of the web service rests on it.

How each side runs (:mod:`baseline`: the earlier revision from its own files, on
``PYTHONPATH``, in a process of its own; today's from this checkout): the two commands as new
processes ``python -m assessment ...`` (what the ``assess`` script runs), the median of
``--runs`` runs each (default 5), today's and the baseline's taking turns; the warm figures in a
process per side: one call first (imports, caches), then the median of ``--warm`` calls (default
50), wall-clock time (``time.perf_counter``). Each side prints the SHA-256 of its
``assess score --format json`` record and of its memo PDF: the two must be identical.

Prints the figures side by side with the ratio (before / today; above 1: today is faster), the
targets and whether they are met, and the machine (core count, CPU model, load average at the
start and at the end: on a shared machine the absolute figures are noisy, the ratios less so).

Usage: ``python bench/bench_latency.py [--runs N] [--warm N] [--part all|process|warm]
[--baseline REV]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from baseline import BEFORE_ISSUE_19, ROOT, environment, machine, run_python, tree_of  # noqa: E402

SAMPLE = ROOT / "sample_projects" / "10_horinger_green_credit_ai.xlsx"
AS_OF = "2025-06-30"
TARGETS = {  # seconds
    "assess --help": 0.3,
    "assess score FILE": 1.2,
    "one application, warm": 0.025,
    "... with its PDF memo": 0.080,
}
Figures = dict[str, tuple[tuple[float, float], tuple[float, float]]]  # (wall, CPU) today, before
COMMANDS = {
    "assess --help": ["--help"],
    "assess score FILE": ["score", str(SAMPLE), "--as-of", AS_OF],
}

# Runs in a fresh process with either revision's engine: argv = [file, as_of, repeats].
CHILD = r"""
import hashlib, json, os, statistics, sys, tempfile, time

from assessment import score_applications
from assessment.reports.memo.write import write_report
from assessment.reports.text import score_json

path, as_of, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
memo = os.path.join(tempfile.mkdtemp(), "memo.pdf")


def scored():
    return score_applications([path], as_of=as_of)


def with_memo():
    found = scored()
    write_report(found, found.frame.index[0], memo)
    return found


def median(call):
    call()  # the first call: imports done, caches filled
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def by_stage():
    # Mean wall-clock seconds per stage of scored(): each function the pipeline calls wrapped
    # with a timer (the functions a revision lacks are left out).
    import assessment.model.predict as predicting
    import assessment.pipeline as pipeline

    spent = {}
    for stage, module, name in STAGES:
        if hasattr(module := {"pipeline": pipeline, "predict": predicting}[module], name):
            setattr(module, name, timed(spent, stage, getattr(module, name)))
    for _ in range(repeats):
        scored()
    return {stage: seconds / repeats for stage, seconds in spent.items()}


def timed(spent, stage, function):
    def call(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[stage] = spent.get(stage, 0.0) + time.perf_counter() - start

    return call


STAGES = [  # stage, module, the function the pipeline calls (looked up when called)
    ("read", "pipeline", "read_applications"),
    ("rule packs", "pipeline", "load_rules"),
    ("model file", "pipeline", "_loaded_model"),
    ("model file", "pipeline", "load_model"),  # the engine before issue 19 calls it by name
    ("indicators", "pipeline", "add_indicators"),
    ("structural absence", "pipeline", "structural_absence"),
    ("model", "predict", "predict"),
    ("model", "pipeline", "predict"),  # imported by name before issue 19
    ("rules", "pipeline", "evaluate_rules"),
    ("decision", "pipeline", "decide"),
]
record = json.dumps(score_json(scored()), sort_keys=True, default=str)
figures = {"one application, warm": median(scored), "... with its PDF memo": median(with_memo)}
with open(memo, "rb") as pdf:
    memo_digest = hashlib.sha256(pdf.read()).hexdigest()
digests = {"score JSON": hashlib.sha256(record.encode()).hexdigest(), "memo PDF": memo_digest}
print(json.dumps({"seconds": figures, "digests": digests, "stages": by_stage()}))
"""


def process_seconds(revision: str | None, argv: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``python -m assessment ARGV`` with ``revision``'s engine."""
    start, used = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [sys.executable, "-m", "assessment", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(revision),
        cwd=str(ROOT if revision is None else tree_of(revision)),
    )
    seconds = time.perf_counter() - start, _children_cpu() - used
    if done.returncode:
        raise SystemExit(f"assess {' '.join(argv)} failed ({revision or 'today'}):\n{done.stderr}")
    return seconds


def _children_cpu() -> float:
    """User and system CPU seconds of the finished child processes."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def process_part(args: argparse.Namespace) -> Figures:
    """Per command, the median (wall, CPU) seconds (today, before) of ``args.runs`` runs each,
    in turns."""
    found = {}
    for name, argv in COMMANDS.items():
        process_seconds(None, argv), process_seconds(args.baseline, argv)  # files in the cache
        today, before = [], []
        for _ in range(args.runs):
            today.append(process_seconds(None, argv))
            before.append(process_seconds(args.baseline, argv))
        found[name] = (_medians(today), _medians(before))
    return found


def _medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def warm_part(args: argparse.Namespace) -> Figures:
    """The warm figures (today, before), and whether both sides gave the same outputs."""
    today = json.loads(run_python(None, CHILD, str(SAMPLE), AS_OF, str(args.warm)))
    before = json.loads(run_python(args.baseline, CHILD, str(SAMPLE), AS_OF, str(args.warm)))
    for key, value in today["digests"].items():
        same = "identical" if value == before["digests"][key] else "DIFFERENT"
        print(f"{key}: {same} to before (sha256 {value[:16]} / {before['digests'][key][:16]})")
    print(f"\n{'one application, by stage':<24}{'today':>10}{'before':>10}  (mean of the calls)")
    for stage, seconds in today["stages"].items():
        old = before["stages"].get(stage)  # None: that engine calls it elsewhere (not timed)
        print(f"{stage:<24}{_shown(seconds):>10}{_shown(old) if old else 'not timed':>10}")
    return {
        key: (tuple(value), tuple(before["seconds"][key]))
        for key, value in today["seconds"].items()
    }


def report(found: Figures, args: argparse.Namespace) -> None:
    heads = f"{'today':>10}{'before':>10}{'before/today':>14}"
    print(f"\n{'wall-clock time':<24}{heads}{'target':>10}  met")
    for name, (today, before) in found.items():
        target = TARGETS[name]
        met = "met" if today[0] < target else "not met"
        print(
            f"{name:<24}{_shown(today[0]):>10}{_shown(before[0]):>10}"
            f"{before[0] / today[0]:>13.2f}x{'< ' + _shown(target):>10}  {met}"
        )
    print(f"\n{'CPU time (same runs)':<24}{heads}")
    for name, (today, before) in found.items():
        print(
            f"{name:<24}{_shown(today[1]):>10}{_shown(before[1]):>10}{before[1] / today[1]:>13.2f}x"
        )
    print(
        f"(processes: median of {args.runs} runs each, in turns; warm: median of {args.warm} "
        "calls after a first one; the targets are judged on wall-clock time, the CPU time of a "
        "shared machine's busy moments is the steadier figure)"
    )


def _shown(seconds: float) -> str:
    if seconds < 0.1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (median)")
    parser.add_argument("--warm", type=int, default=50, help="warm calls (median)")
    parser.add_argument("--part", choices=("all", "process", "warm"), default="all")
    parser.add_argument("--baseline", default=BEFORE_ISSUE_19, help="the revision to compare")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"input: {SAMPLE.relative_to(ROOT)}, as of {AS_OF}; baseline: {args.baseline}")
    found = {}
    if args.part in ("all", "process"):
        found |= process_part(args)
    if args.part in ("all", "warm"):
        found |= warm_part(args)
    report(found, args)
    print(f"\nmachine at the end: {machine()}")


if __name__ == "__main__":
    main()
