"""Report speed: the PDF memo of every sample project, against a plain reportlab recipe.

Requirement: at least 20 single-project reports per second per core, measured over the sample
projects.

What is measured, in one script run, on the same scored projects (``score_applications`` on
``sample_projects/`` with ``as_of`` 2025-06-30 and the shipped model, done once before any
timing and reported apart):

* engine: ``assessment.reports.memo.write.write_reports(scored, folder, lang)``: one memo per
  project
  (records, layout, fonts, writing the files), in this one process: reports per second per
  core. Checked: one PDF per project.
* engine pool: a ``multiprocessing`` pool (spawn) of ``os.cpu_count()`` workers. The project
  ids are dealt round-robin into one share per worker and the scored result is cut to each
  share (rules and decisions evaluated again on its rows; the records are the same); the
  initializer hands every worker all shares (the scored result pickles), and each timed task
  is ``write_reports(share, folder, lang)``. Pool start-up is not timed; total and per-core
  reports per second are. Checked: the PDFs are byte-identical to the single-process ones.
  With ``--per-id``, a second pool row: each worker holds the whole scored result and writes
  its share one ``write_report(scored, project_id, path, lang)`` call at a time.
* baseline: the straightforward reportlab recipe for a smaller memo: ``project_records(scored)``
  once, then per project a ``SimpleDocTemplate`` with a title ``Paragraph`` and one ``Table``
  whose every cell is a ``Paragraph``: the criteria rows (rule id + title, verdict, value,
  operator + threshold, unit, source: clause). It does LESS work than the engine (one table
  instead of the whole memo).

Per language (en, zh) each side runs ``--repeat`` times (default 3), the sides alternating;
the best run is the headline (the first run also pays one-off costs such as font loading). The
ratio is baseline / engine (above 1: the engine is faster). PDFs go to a temporary folder.

Usage: ``python bench/bench_reports.py [--lang en|zh|both] [--repeat N] [--projects N]
[--per-id]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import pickle
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_projects"
MODEL = ROOT / "rules" / "model" / "default_model.skops"
CJK_FILE = ROOT / "templates" / "fonts" / "wqy-microhei.ttc"
BASELINE_CJK = "BenchReportsCJK"
AS_OF = dt.date(2025, 6, 30)
TARGET_PER_CORE = 20.0
REPEATS = 3
LANGS = ("en", "zh")
WIDTHS = (130, 42, 50, 58, 30, 141)  # baseline table, 451 pt between 1-inch margins
SIDES = ("engine", "baseline", "pool", "per_id")
JUDGED = ("engine", "pool")  # the engine's rows judged against the target (per_id: shown only)

_WORKER: dict = {}  # in a pool worker: "scored" (all projects) and "shares" (one per worker)


def timed_import() -> float:
    """Import reportlab and the engine, returning the seconds it took (reported, not timed)."""
    start = time.perf_counter()
    import reportlab.platypus  # noqa: F401

    import assessment.pipeline  # noqa: F401
    import assessment.reports.memo.write  # noqa: F401

    return time.perf_counter() - start


# --- inputs --------------------------------------------------------------------------------


def score() -> tuple[object, float]:
    """Every sample project scored once: (scored, seconds)."""
    from assessment.pipeline import score_applications

    start = time.perf_counter()
    scored = score_applications([SAMPLES], as_of=AS_OF, model=MODEL)
    return scored, time.perf_counter() - start


def subset(scored, ids: list[str]):
    """The scored result of the projects ``ids`` only: every table cut to them, the rules and
    the decision table evaluated again on those rows (the per-project records do not change)."""
    from assessment.criteria.evaluate import evaluate_rules
    from assessment.decision.decide import decide

    if ids == [str(i) for i in scored.frame.index]:
        return scored
    applications = scored.applications
    problems = applications.problems[applications.problems["project_id"].isin(ids)]
    applications = replace(
        applications,
        projects=applications.projects.loc[ids],
        yearly=applications.yearly[applications.yearly["project_id"].isin(ids)],
        problems=problems,
    )
    frame = scored.frame.loc[ids]
    predictions = None if scored.predictions is None else scored.predictions.loc[ids]
    evaluation = evaluate_rules(frame, scored.evaluation.rules, scored.as_of)
    decisions = decide(evaluation, predictions, problems)
    return replace(
        scored,
        applications=applications,
        frame=frame,
        evaluation=evaluation,
        predictions=predictions,
        decisions=decisions,
    )


def project_ids(scored) -> list[str]:
    return [str(i) for i in scored.frame.index]


# --- engine --------------------------------------------------------------------------------


def run_engine(scored, folder: Path, lang: str) -> None:
    """write_reports over every project; checked: one existing PDF per project."""
    from assessment.reports.memo.write import write_reports

    paths = write_reports(scored, folder, lang)
    if len(paths) != len(scored.frame) or not all(Path(p).is_file() for p in paths):
        sys.exit(f"bench_reports: write_reports gave {len(paths)} files, not {len(scored.frame)}")


def _file_name(project_id: str) -> str:
    """The name write_reports gives a project's memo in a folder."""
    return re.sub(r"[^\w.-]+", "_", str(project_id)) + ".pdf"


def _init_worker(scored, shares: list) -> None:
    import assessment.reports.memo.write  # noqa: F401  (imported before timing, as in the parent)

    _WORKER.update(scored=scored, shares=shares)


def _ready(_: int) -> int:
    time.sleep(0.2)  # long enough for every worker to take one of these tasks
    return os.getpid()


def _write_share(task: tuple[int, str, str]) -> int:
    """In a worker: write_reports on share ``k``; returns how many memos it wrote."""
    from assessment.reports.memo.write import write_reports

    k, lang, folder = task
    return len(write_reports(_WORKER["shares"][k], folder, lang))


def _write_share_per_id(task: tuple[int, str, str]) -> int:
    """In a worker: write_report (whole scored result) for each project id of share ``k``."""
    from assessment.reports.memo.write import write_report

    k, lang, folder = task
    ids = project_ids(_WORKER["shares"][k])
    for project_id in ids:
        write_report(_WORKER["scored"], project_id, Path(folder) / _file_name(project_id), lang)
    return len(ids)


def start_pool(scored, shares: list, workers: int) -> tuple[object, float, int]:
    """A spawn pool whose workers hold ``scored`` and the shares; (pool, start-up s, workers
    seen ready)."""
    start = time.perf_counter()
    pool = multiprocessing.get_context("spawn").Pool(
        workers, initializer=_init_worker, initargs=(scored, shares)
    )
    seen = len(set(pool.map(_ready, range(workers), chunksize=1)))
    return pool, time.perf_counter() - start, seen


def run_pool(pool, count: int, shares: int, folder: Path, lang: str, per_id: bool) -> None:
    """Every share written by the pool, one task per share; checked: one PDF per project."""
    for old in folder.glob("*.pdf"):
        old.unlink()
    task = _write_share_per_id if per_id else _write_share
    written = sum(pool.map(task, [(k, lang, str(folder)) for k in range(shares)], chunksize=1))
    if written != count or len(list(folder.glob("*.pdf"))) != count:
        sys.exit(f"bench_reports: the pool wrote {written} files, not {count}")


# --- baseline ------------------------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ";".join(_cell(v) for v in value)
    return str(value)


def run_baseline(scored, folder: Path, lang: str) -> None:
    """The plain recipe: a title and one table of Paragraph cells (criteria rows) per project."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    from assessment.pipeline import project_records

    styles = getSampleStyleSheet()
    title_style, cell_style = styles["Title"], styles["BodyText"].clone("cell", fontSize=7)
    cell_style.leading = 8.5
    if lang == "zh":
        if BASELINE_CJK not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(BASELINE_CJK, str(CJK_FILE), subfontIndex=0))
        title_style = title_style.clone("title_zh", fontName=BASELINE_CJK)
        cell_style = cell_style.clone("cell_zh", fontName=BASELINE_CJK, wordWrap="CJK")
    titles = scored.evaluation.rules.table()[f"title_{lang}"].to_dict()
    header = ["Rule", "Verdict", "Value", "Threshold", "Unit", "Source: clause"]
    for record in project_records(scored):
        rows = [header] + [
            [
                f"{rule['rule_id']} {titles.get(rule['rule_id'], '')}",
                rule["verdict"],
                _cell(rule["value"]),
                f"{rule['operator']} {_cell(rule['threshold'])}",
                _cell(rule["unit"]),
                f"{rule['source']}: {rule['clause']}",
            ]
            for rule in record["rules"]
        ]
        cells = [[Paragraph(escape(text), cell_style) for text in row] for row in rows]
        table = Table(cells, colWidths=WIDTHS, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        doc = SimpleDocTemplate(str(folder / _file_name(record["project_id"])), pagesize=A4)
        doc.build([Paragraph(escape(f"Criteria {record['project_id']}"), title_style), table])


# --- measurement ---------------------------------------------------------------------------


def measure(scored, folder: Path, langs: list[str], repeat: int, pool, setting: dict) -> dict:
    """(side, lang) -> seconds of each run; the sides alternate within each round."""
    count, shares = len(scored.frame), setting["shares"]
    times: dict[tuple[str, str], list[float]] = {}
    for lang in langs:
        sides = {
            "engine": lambda out, lang=lang: run_engine(scored, out, lang),
            "baseline": lambda out, lang=lang: run_baseline(scored, out, lang),
            "pool": lambda out, lang=lang: run_pool(pool, count, shares, out, lang, False),
            "per_id": lambda out, lang=lang: run_pool(pool, count, shares, out, lang, True),
        }
        if not setting["per_id"]:
            del sides["per_id"]
        for _ in range(repeat):
            for side, task in sides.items():
                out = folder / side / lang
                out.mkdir(parents=True, exist_ok=True)
                start = time.perf_counter()
                task(out)
                times.setdefault((side, lang), []).append(time.perf_counter() - start)
    return times


def outputs(folder: Path, times: dict) -> dict:
    """(side, lang) -> (mean pages per PDF or nan without pypdf, mean KiB per PDF, how many
    PDFs are byte-identical to the single-process engine's)."""
    try:
        import pypdf
    except ImportError:
        pypdf = None
    found = {}
    for side, lang in times:
        paths = sorted((folder / side / lang).glob("*.pdf"))
        kib = sum(p.stat().st_size for p in paths) / 1024 / len(paths)
        pages = float("nan")
        if pypdf is not None:
            pages = sum(len(pypdf.PdfReader(p).pages) for p in paths) / len(paths)
        engine = folder / "engine" / lang
        same = sum(p.read_bytes() == (engine / p.name).read_bytes() for p in paths)
        found[(side, lang)] = (pages, kib, same)
    return found


# --- report --------------------------------------------------------------------------------


def cores() -> str:
    text = str(os.cpu_count())
    if hasattr(os, "sched_getaffinity"):
        text += f" (usable by this process: {len(os.sched_getaffinity(0))})"
    return text


def verdict(per_core: float, judged: bool) -> str:
    if not judged:
        return "not judged"
    return "MET" if per_core >= TARGET_PER_CORE else "NOT MET"


def report_setting(count: int, total: int, setting: dict) -> None:
    print(f"\nReport benchmark: {count} of {total} sample projects, as_of {AS_OF}")
    load = ", ".join(f"{x:.2f}" for x in setting["load_start"])
    print(f"CPU cores (os.cpu_count): {cores()}; load average at start: {load}")
    print(f"import reportlab + assessment: {setting['import_s']:.2f} s (not timed)")
    print(
        f"scoring (score_applications on {SAMPLES.name}/, shipped model), once: "
        f"{setting['score_s']:.2f} s (not timed)"
    )
    print(
        f"pool: {setting['workers']} spawn workers ({setting['seen']} seen ready), each handed "
        f"the scored result and its round-robin share ({setting['pickle_mib']:.1f} MiB pickled); "
        f"start-up {setting['pool_s']:.2f} s (not timed)"
    )


def report(count: int, total: int, times: dict, found: dict, setting: dict) -> None:
    """The table per side and language, the ratios and the verdict."""
    workers, judged = setting["workers"], count == total
    labels = {
        "engine": "engine write_reports, 1 process",
        "baseline": "baseline reportlab, 1 process",
        "pool": f"engine pool write_reports, {workers} w.",
        "per_id": f"engine pool write_report, {workers} w.",
    }
    langs = list(dict.fromkeys(lang for _, lang in times))
    print(
        f"\n{'':40}{'runs s':>20}{'best s':>8}{'reports/s':>10}{'per core':>9}"
        f"{'pages':>6}{'KiB':>5}{'same':>6}  target"
    )
    verdicts = []
    for lang in langs:
        for side in (s for s in SIDES if (s, lang) in times):
            runs = times[(side, lang)]
            rate = count / min(runs)
            per_core = rate / (workers if side in ("pool", "per_id") else 1)
            judged_here = verdict(per_core, judged) if side in JUDGED else ""
            if side in JUDGED:
                verdicts.append(judged_here)
            elif side == "per_id":
                judged_here = "(shown only)"
            pages, kib, same = found[(side, lang)]
            shown = ", ".join(f"{run:.1f}" for run in runs)
            print(
                f"{labels[side] + ' ' + lang:40}{shown:>20}{min(runs):8.2f}{rate:10.1f}"
                f"{per_core:9.1f}{pages:6.1f}{kib:5.0f}{same:6d}  {judged_here}"
            )
    print(
        "(same: PDFs byte-identical to the single-process engine's; the baseline's differ by "
        "design)\n"
    )
    for lang in langs:
        engine, baseline = min(times[("engine", lang)]), min(times[("baseline", lang)])
        print(
            f"ratio baseline / engine, {lang}: {baseline / engine:.2f}x (1 process); "
            f"pool over 1 process: {engine / min(times[('pool', lang)]):.2f}x "
            f"with {workers} workers"
        )
    print(
        "(the baseline writes only the criteria table: no programme verdicts, figures, reasons, "
        "conditions, model, data quality, problems, chart, sources or footer, i.e. less work)"
    )
    target = f"target: >= {TARGET_PER_CORE:.0f} reports/s per core over the sample projects -> "
    if not judged:
        print(f"{target}not judged with {count} of {total} projects (--projects)")
        return
    met = all(v == "MET" for v in verdicts)
    print(f"{target}{'MET' if met else 'NOT MET'} (every write_reports row above must meet it)")


def check_same(count: int, found: dict) -> None:
    """The pool must write the very memos the single process wrote."""
    for (side, lang), (_, _, same) in found.items():
        if side in ("pool", "per_id") and same != count:
            sys.exit(
                f"bench_reports: {side} {lang}: only {same} of {count} PDFs identical to the "
                "single-process ones (were the report code or templates edited during the run?)"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=("en", "zh", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=REPEATS, help="runs per side (best of)")
    parser.add_argument("--projects", type=int, help="only the first N projects")
    parser.add_argument(
        "--per-id", action="store_true", help="also time the pool with one write_report per id"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or (args.projects is not None and args.projects < 1):
        parser.error("--repeat and --projects must be at least 1")
    langs = list(LANGS) if args.lang == "both" else [args.lang]
    setting = {"load_start": os.getloadavg(), "import_s": timed_import(), "per_id": args.per_id}
    everything, setting["score_s"] = score()
    total = len(everything.frame)
    scored = subset(everything, project_ids(everything)[: args.projects or total])
    count, ids = len(scored.frame), project_ids(scored)
    setting["workers"] = workers = os.cpu_count() or 1
    shares = [subset(scored, ids[k::workers]) for k in range(min(workers, count))]
    setting["shares"] = len(shares)
    setting["pickle_mib"] = len(pickle.dumps((scored, shares))) / 2**20
    pool, setting["pool_s"], setting["seen"] = start_pool(scored, shares, workers)
    try:
        with tempfile.TemporaryDirectory(prefix="bench_reports_") as scratch:
            times = measure(scored, Path(scratch), langs, args.repeat, pool, setting)
            found = outputs(Path(scratch), times)
    finally:
        pool.close()
        pool.join()
    report_setting(count, total, setting)
    report(count, total, times, found, setting)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the end: {load} (other busy processes slow every figure down)")
    check_same(count, found)


if __name__ == "__main__":
    main()
