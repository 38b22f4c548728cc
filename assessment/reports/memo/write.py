"""The PDF assessment memo of each project: the decision on page one (recommendation,
programme verdicts, key figures, principal reasons), then the project profile, green and carbon
with a PUE chart, green credit, REIT gates, credit risk with the model card, every criterion
with its source cell and clause, data quality and input problems, conditions, an annex of
sources and methods, and an approval block to sign. Every page carries a stamp: input file
hash, model, engine, assessment date and rule pack versions.

Wording and styles are data (:mod:`assessment.reports.pdf.style`); the same inputs give a
byte-identical PDF (reportlab's invariant mode; the assessment date is an input, not the clock).
"""

from __future__ import annotations

import os
from pathlib import Path

from ... import __version__
from ..._shared.files import file_stem, output_set, sha256_of
from ...pipeline import Scored, project_records
from ..pdf.flowables import CELL_CHARS, Grid, page_frame, write_pdf
from ..pdf.style import Look
from .detail import annex, approval, conditions, criteria, quality
from .facts import Memo, Run, block
from .front import credit, green, green_credit, page_one, profile, reit

SECTIONS = (
    ("profile", profile),
    ("green", green),
    ("green_credit", green_credit),
    ("reit", reit),
    ("credit", credit),
    ("criteria", criteria),
    ("quality", quality),
    ("conditions", conditions),
    ("annex", annex),
    ("approval", approval),
)


def write_reports(
    scored: Scored,
    target: str | Path,
    lang: str = "en",
    templates: str | Path | None = None,
    *,
    as_set: bool = True,
    officer: str = "",
) -> list[Path]:
    """One memo per project. A single project goes to ``target``; with several, or when
    ``target`` is a folder (exists, ends with a slash, or has no suffix), each project goes to
    ``<folder>/<project_id>.pdf`` or beside ``target`` as ``<stem>_<project_id>.pdf`` (an id
    that is not a plain, short file name is cleaned and given a short hash:
    :func:`assessment._shared.files.file_stem`). Several memos are written as a set (``as_set``):
    built beside their folder and moved in together, so an error or Ctrl-C leaves none."""
    paths = report_paths([str(i) for i in scored.frame.index], target)
    run = Run(scored, Look(lang, templates), len(paths), officer)
    records = project_records(scored)
    if len(paths) < 2 or not as_set:
        return [_write(run, r, p) for r, p in zip(records, paths, strict=True)]
    names = [p.name for p in paths]
    with output_set(paths[0].parent, names, last=names[-1]) as staging:
        for record, name in zip(records, names, strict=True):
            _write(run, record, staging / name)
    return paths


def report_paths(ids: list[str], target: str | Path) -> list[Path]:
    """Where :func:`write_reports` puts the memo of each of ``ids``."""
    folder = str(target).endswith(("/", os.sep))
    target = Path(target)
    if folder or target.is_dir() or not target.suffix:
        return [target / f"{file_stem(i)}.pdf" for i in ids]
    if len(ids) == 1:
        return [target]
    return [target.with_name(f"{target.stem}_{file_stem(i)}{target.suffix}") for i in ids]


def write_report(
    scored: Scored,
    project_id: str,
    path: str | Path,
    lang: str = "en",
    templates: str | Path | None = None,
    officer: str = "",
    trail: list[dict] | None = None,
) -> Path:
    """Write the memo of ``project_id`` to ``path`` (through a temporary file); ``officer``
    fills the "prepared by" line of the approval block; ``trail`` (rows of ``when``, ``who``,
    ``step``, ``outcome``, ``reason``, ``comments``: the decisions taken on it, from a
    register) is printed after it. Without a trail the memo is that of the first print."""
    run = Run(scored, Look(lang, templates), officer=officer)
    return _write(run, _record(scored, project_id), path, trail)


def _write(run: Run, record: dict, path: str | Path, trail: list[dict] | None = None) -> Path:
    return write_pdf(lambda temporary: _build(run, record, temporary, trail), path)


def _record(scored: Scored, project_id: str) -> dict:
    if str(project_id) in set(map(str, scored.frame.index)):
        return project_records(scored, [str(project_id)])[0]
    known = ", ".join(str(i) for i in scored.frame.index)
    raise KeyError(f"project {project_id!r} is not in this scoring run; it holds {known}")


def _build(run: Run, record: dict, path: str, trail: list[dict] | None = None) -> None:
    scored, look = run.scored, run.look
    doc = look.document(
        path, f"{look.words['title']} {record['project_id']}", f"assessment {__version__}"
    )
    header = f"{look.words['title']} | {record['project_id']} | {record['as_of']}"
    on_page = page_frame(look, header, _footer_text(scored, record, look))
    story = _story(run, record) + (_trail(run.look, trail) if trail else [])
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)


def _footer_text(scored: Scored, record: dict, look: Look) -> tuple[str, str]:
    """Two lines: the input, model, engine and date; then the rule packs."""
    words = look.words["words"]
    packs = ", ".join(f"{k} {v}" for k, v in sorted(scored.evaluation.rules.versions().items()))
    model = (scored.model.card.get("sha256") or "-") if scored.model is not None else "-"
    first = (
        f"{words['footer_input']} {_input_sha256(scored, record['project_id'])[:16]} | "
        f"{words['footer_model']} {model[:16]} | "
        f"{words['footer_engine']} {__version__} | {words['footer_date']} {record['as_of']}"
    )
    return first, f"{words['footer_rules']}: {packs}"


def _input_sha256(scored: Scored, project_id: str) -> str:
    source = scored.frame.loc[project_id].get("source_file")
    if not isinstance(source, str) or not Path(source).is_file():
        return "-"
    return sha256_of(source)


def _story(run: Run, record: dict) -> list:
    memo = Memo(run, record)
    look = run.look
    story = page_one(memo)
    for key, section in SECTIONS:
        story += block(look, key, section(memo))
    return story


def _trail(look: Look, trail: list[dict]) -> list:
    """The decision trail of a reprint: each step as the register keeps it, oldest first."""
    columns = ["when", "who", "step", "outcome", "reason", "comments"]
    grid = Grid([look.word("columns", c) for c in columns], [70, 60, 70, 80, 120, 111])
    for step in trail:
        grid.add([step.get(c, "") for c in columns])
    return block(look, "trail", [grid.build(look), *_whole_texts(look, trail, columns[-2:])])


def _whole_texts(look: Look, trail: list[dict], columns: list[str]) -> list:
    """A reason or comment too long for its cell, printed whole under the trail: the memo
    keeps every word of the register's trail."""
    return [
        look.para(
            f"{step.get('when', '')} {step.get('who', '')}, {look.word('columns', c)}: {text}"
        )
        for step in trail
        for c in columns
        if len(text := str(step.get(c, "") or "")) > CELL_CHARS
    ]
