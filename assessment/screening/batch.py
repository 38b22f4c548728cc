"""The agency's batch: screen every input and write the shortlist, the portfolio summary, the
manifest and (on request) one memo per project into one folder.

``screen_inputs`` plans the chunks, runs them on an engine (:mod:`assessment.screening.run`), ranks
the results and accounts for every input; ``write_screening_outputs`` writes ``screening.xlsx``
(and, above Excel's row limit, ``screening.parquet`` and ``screening.csv``), ``summary.pdf`` and
``manifest.json``. Every file is written under a temporary name and then renamed;
``screen_to_folder`` does both and writes the files of one run (memos included) as a set,
swapped into the folder with the manifest last (:func:`assessment._shared.files.output_set`).
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from .._shared.files import output_set, shown_path, write_json, write_text
from ..errors import InputError
from ..intake.chunks import close_parquet_files, input_files, plan_chunks
from ..intake.read import SOURCE_COLUMNS
from ..intake.workbooks import IGNORE_FILE
from ..reports.fields import Wording
from . import ROWS_PER_CHUNK
from .records import (
    REJECTED_COLUMNS,
    Screening,
    Settings,
    cached_rules,
    empty_results,
    manifest,
    problem_text,
    rank,
    rejected_of,
    release_freed_memory,
    split_duplicates,
)
from .run import Progress, check_engine, run_chunks
from .shortlist import (
    EXCEL_MAX_ROWS,
    FULL_RESULT_FILES,
    with_place_names,
    write_full_results,
    write_screening_workbook,
)
from .summary import summary_tables, write_summary_pdf

# The files of one run, replaced together by the next run into the same folder.
OUTPUT_NAMES = (*FULL_RESULT_FILES, "screening.xlsx", "summary.pdf", "reports", "manifest.json")
# Written beside the outputs, so that a later run given this folder never reads them back.
OUTPUT_IGNORE = "".join(f"{name}{'/' if name == 'reports' else ''}\n" for name in OUTPUT_NAMES)


def screen_to_folder(
    inputs: list[str | Path],
    folder: str | Path,
    settings: Settings,
    *,
    reports: bool = False,
    **options,
) -> tuple[Screening, dict[str, Path]]:
    """Screen ``inputs`` (``options`` as :func:`screen_inputs` takes them) and write the
    outputs (:func:`write_screening_outputs`, and with ``reports`` one memo per project in
    ``reports/``) into ``folder`` as one set: built in a folder beside it, then swapped in
    with the manifest last, replacing the previous run's set. An error or Ctrl-C leaves
    ``folder`` as it was."""
    check_engine(options.get("engine", "local"))  # e.g. dask not installed: before any work
    folder = Path(folder)
    lang, templates = settings.lang, settings.templates
    names = (*OUTPUT_NAMES, IGNORE_FILE)
    with output_set(folder, names, last="manifest.json") as staging:
        write_text(
            staging / IGNORE_FILE,
            "# the outputs of assess screen: never read back as inputs\n" + OUTPUT_IGNORE,
        )
        if reports:
            (staging / "reports").mkdir()
        settings = replace(settings, reports=str(staging / "reports") if reports else None)
        screening = screen_inputs(inputs, settings, **options)
        if settings.redact:
            screening = redacted(screening)
        if not screening.manifest["counts"]["files"]:
            raise InputError(
                "nothing to screen",
                where=", ".join(map(str, inputs)),
                expected="application workbooks or candidate lists (.xlsx .xlsm .ods .csv)",
                got="no such file in the folder(s)",
                hint="name the files, or check the folder and its .assessignore",
            )
        written = write_screening_outputs(
            screening, staging, settings, lang=lang, templates=templates
        )
        if reports:
            written["reports"] = staging / "reports"
    return screening, {key: folder / path.name for key, path in written.items()}


def screen_inputs(
    inputs: list[str | Path],
    settings: Settings,
    *,
    engine: str = "local",
    jobs: int | None = None,
    scheduler: str | None = None,
    rows_per_chunk: int = ROWS_PER_CHUNK,
    files_per_chunk: int | None = None,
    progress: Progress | None = None,
) -> Screening:
    """Screen files and folders; every input ends up scored or in ``rejected``. Files are
    screened ``files_per_chunk`` at a time (default: two chunks per process, see
    :func:`balanced_files_per_chunk`), big lists ``rows_per_chunk`` rows at a time."""
    check_engine(engine)
    jobs = jobs or os.cpu_count() or 1
    listed = input_files(inputs)  # once: a folder walked, a storage asked, a file gone later kept
    chunks, missing = plan_chunks(
        inputs,
        rows_per_chunk=rows_per_chunk,
        files_per_chunk=files_per_chunk or _files_per_chunk(len(listed), jobs),
    )
    files = listed + [str(p.get("file")) for p in missing]
    scored, refused, warned = [], [], []
    try:
        for part in run_chunks(
            chunks, settings, engine=engine, jobs=jobs, scheduler=scheduler, progress=progress
        ):
            done = part["status"] == "scored"
            scored.append(part[done].drop(columns=["status", "cell"], errors="ignore"))
            refused.append(rejected_of(part[~done]))
            warned.append(rejected_of(part[~done], "warned"))
    finally:
        close_parquet_files()  # the lists this process read in parts (--jobs 1) are done
    results, repeated = split_duplicates(
        _concatenated(scored) if scored else empty_results(settings)
    )
    release_freed_memory()  # the chunks' parts
    rejected = pd.concat([_missing_rows(missing), *refused, repeated], ignore_index=True)
    ranked = rank(results, consume=True)
    del results
    release_freed_memory()  # the unranked copy
    found = manifest(files, ranked, rejected, settings)
    warnings = pd.concat(warned, ignore_index=True) if warned else rejected.iloc[:0]
    _name_inputs(found, ranked, inputs, rejected, warnings)
    return Screening(ranked, rejected, found, cached_rules(settings.rules), warnings)


def _name_inputs(found: dict, results: pd.DataFrame, inputs, *rejected: pd.DataFrame) -> None:
    """Inputs named relative to the arguments they were found through, never by absolute
    local paths, in the results, the rejected (and warned) rows and the manifest."""
    for item in found["inputs"]:
        item["path"] = shown_path(item["path"], inputs)
    frames = [(results, "source_file"), *((frame, "file") for frame in rejected)]
    for frame, column in frames:
        if column not in frame or frame.empty:
            continue
        codes, paths = pd.factorize(frame[column])
        names = [shown_path(p, inputs) if isinstance(p, str) and p else p for p in paths]
        shown = np.asarray([*names, None], dtype=object)[codes]  # code -1 (missing): None
        frame[column] = pd.Series(shown, index=frame.index).astype(frame[column].dtype)


def redacted(screening: Screening) -> Screening:
    """A version of ``screening`` that can leave the bank: no source columns (file, sheet,
    row) in the results, inputs named by their file name only (no folders) in the rejected
    rows and the manifest. Sponsors are left out of the memos as they are written
    (``Settings.redact``); the results carry none."""
    results = screening.results.drop(columns=list(SOURCE_COLUMNS), errors="ignore")
    rejected = screening.rejected.copy()
    if "file" in rejected:
        rejected["file"] = rejected["file"].map(_file_name, na_action="ignore")
    found = copy.deepcopy(screening.manifest)
    for item in found["inputs"]:
        item["path"] = _file_name(item["path"])
    found["redacted"] = True
    return replace(screening, results=results, rejected=rejected, manifest=found)


def _file_name(path: object) -> object:
    return Path(str(path)).name if path else path


FILES_PER_CHUNK = (50, 4000)  # the fewest and the most files screened together


def balanced_files_per_chunk(inputs: list[str | Path], jobs: int) -> int:
    """Two chunks of files per process, so a slow chunk is evened out, within
    ``FILES_PER_CHUNK``: each chunk pays a fixed cost (frames, rules, model) once."""
    return _files_per_chunk(len(input_files(inputs)), jobs)


def _files_per_chunk(files: int, jobs: int) -> int:
    low, high = FILES_PER_CHUNK
    return max(low, min(high, math.ceil(files / (2 * jobs))))


def _concatenated(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The parts as one frame; the list is emptied as it goes, so only one copy is held."""
    whole = pd.concat(parts, ignore_index=True)
    parts.clear()
    return whole


def _missing_rows(problems: list[dict]) -> pd.DataFrame:
    rows = [
        {
            "file": p.get("file") or "",
            "sheet": "",
            "row": pd.NA,
            "cell": "",
            "project_id": "",
            "reasons": problem_text(p) if p.get("message") else "no such file or folder",
        }
        for p in problems
    ]
    return pd.DataFrame(rows, columns=REJECTED_COLUMNS)


def write_screening_outputs(
    screening: Screening,
    folder: str | Path,
    settings: Settings,
    *,
    lang: str = "en",
    templates: str | Path | None = None,
) -> dict[str, Path]:
    """``screening.xlsx``, ``summary.pdf`` and ``manifest.json`` (and the full result as
    Parquet and CSV above Excel's row limit) in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    results, rejected = screening.results, screening.rejected
    named = with_place_names(results, lang)  # what people read; the full result keeps codes
    rules = screening.rules.rules
    titles = {rule.rule_id: getattr(rule, f"title_{lang}") for rule in rules}
    rule_ids = [rule.rule_id for rule in rules if rule.rule_id in results.columns]
    flags = [rule.rule_id for rule in rules if rule.severity == "flag"]
    programmes = {rule.rule_id: rule.programme for rule in rules}
    tables = summary_tables(
        named, rejected, rule_ids=rule_ids, titles=titles, flag_rules=flags, programmes=programmes
    )
    gates = [rule.rule_id for rule in rules if rule.severity == "gate" and rule.rule_id in results]
    written = {}
    if len(results) > EXCEL_MAX_ROWS:
        for path in write_full_results(results, folder):
            written[path.suffix.lstrip(".")] = path
    written["xlsx"] = write_screening_workbook(
        named,
        rejected,
        tables,
        folder / "screening.xlsx",
        gate_rules=gates,
        titles=titles,
        max_rows=EXCEL_MAX_ROWS,
        as_of=screening.manifest["as_of"],
        wording=Wording(lang, templates),
    )
    release_freed_memory()  # the Screening sheet's blocks of XML
    meta = _summary_meta(screening)
    written["pdf"] = write_summary_pdf(
        named, rejected, tables, folder / "summary.pdf", lang=lang, templates=templates, meta=meta
    )
    written["manifest"] = write_json(folder / "manifest.json", screening.manifest, _plain_json)
    return written


def _summary_meta(screening: Screening) -> dict:
    found = screening.manifest
    return {
        "as_of": found["as_of"],
        "rule_versions": found["rule_packs"],
        "model": found["model"],
        "engine": found["engine"],
        "inputs": found["counts"]["files"],
        "projects_scored": found["counts"]["projects_scored"],
        "rejected": found["counts"]["rejected"],
    }


def _plain_json(value: object) -> object:
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
