"""The assessment as an Excel workbook: inputs, indicators, rule verdicts (coloured, filtered,
frozen header), model reasons and the decision.

Written by :func:`assessment._shared.excel.write_workbook`: every text cell is written as text, a
value that starts with ``=``, ``+``, ``-`` or ``@`` is never turned into a formula.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .._shared.excel import Table, write_workbook
from .._shared.files import sha256_of, shown_path
from .._shared.text import joined, shown
from ..criteria.indicators import INDICATORS
from ..decision.decide import programmes_as_asked

VERDICT_FILLS = {
    "pass": "C6EFCE",
    "fail": "FFC7CE",
    "insufficient": "FFEB9C",
    "not_applicable": "EDEDED",
}


def write_score_workbook(scored, path: str | Path, given: list | None = None) -> Path:
    """Write the workbook for a scoring run (``assessment.pipeline.Scored``) to ``path``,
    through a temporary file so that an interrupted run never leaves a half-written file.
    With ``given`` (the inputs as named on the command line) input files are named relative
    to them, never by absolute local paths."""
    tables = {}
    for title, frame in score_sheets(scored).items():
        frame = frame if given is None else _named_inputs(frame, given)
        fills = {"verdict": VERDICT_FILLS} if title == "Verdicts" else {}
        tables[title] = Table(frame, fills=fills)
    return write_workbook(path, tables)


def _named_inputs(frame: pd.DataFrame, given: list) -> pd.DataFrame:
    """``frame`` with its ``source_file`` / ``file`` columns named as :func:`shown_path` does."""
    found = [c for c in ("source_file", "file") if c in frame.columns]
    if not found:
        return frame
    named = {
        c: frame[c].map(lambda p: shown_path(p, given) if isinstance(p, str) and p else p)
        for c in found
    }
    return frame.assign(**named)


def score_sheets(scored) -> dict[str, pd.DataFrame]:
    """The tables of the workbook, by sheet name."""
    frame = scored.frame
    indicator_names = [i.name for i in INDICATORS if i.name in frame.columns]
    inputs = frame.drop(columns=indicator_names).reset_index()
    verdicts = scored.evaluation.table()
    titles = {rule.rule_id: rule.title_en for rule in scored.evaluation.rules.rules}
    verdicts.insert(3, "title", verdicts["rule_id"].map(titles))
    found = {
        "Decision": _decision_table(scored),
        "Inputs": inputs,
        "Indicators": frame[indicator_names].reset_index(),
        "Verdicts": verdicts,
        "Programmes": programmes_as_asked(scored.evaluation).reset_index(),
    }
    if scored.predictions is not None:
        found["Model"] = scored.predictions.reset_index()
    found["Problems"] = scored.applications.problems
    found["Files"] = _files_table(frame)
    return found


def _files_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Each input file the projects came from, with its SHA-256."""
    files = frame["source_file"].dropna().unique() if "source_file" in frame else []
    rows = [{"file": f, "sha256": sha256_of(f) if Path(f).is_file() else ""} for f in files]
    return pd.DataFrame(rows, columns=["file", "sha256"])


def _decision_table(scored) -> pd.DataFrame:
    decisions = scored.decisions
    if decisions is None:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "project_id": decisions.index,
            "recommendation": decisions["recommendation"].to_numpy(),
            "why": decisions["decision_reason"].to_numpy(),
            "green_label": [label["status"] for label in decisions["green_label"]],
            "missing_for_decision": [joined(f) for f in decisions["missing_for_decision"]],
            "reasons": [joined(_reason_text(r) for r in rs) for rs in decisions["reasons"]],
            "conditions": [joined(c["text"] for c in cs) for cs in decisions["conditions"]],
            "data_quality": [q["verdict"] for q in decisions["data_quality"]],
            "data_quality_score": decisions["data_quality_score"].to_numpy(),
        }
    )


def _reason_text(reason: dict) -> str:
    if reason["kind"] == "model":
        contribution = shown(reason["contribution"], "{:.3f}")
        return f"model: {reason['criterion']}={shown(reason['value'])} (+{contribution})"
    return (
        f"{reason['criterion']}: {reason['metric']} {shown(reason['value'])} {reason['verdict']} "
        f"{reason['operator']} {shown(reason['threshold'])} ({reason['source']})"
    )
