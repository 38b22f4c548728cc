"""The portfolio summary of a screening run: the summary tables (also the blocks of the Excel
Summary sheet) and ``summary.pdf``.

:func:`summary_tables` counts a ranked results frame of any size with group-bys and value counts
(no loop over projects): projects by recommendation, the pass rate of each rule, projects by
province and by hub, and the reasons input rows were rejected (by field and problem, the
values found kept as examples: ``pue: out of range`` with ``4.2, 0.95``).
:func:`write_summary_pdf` prints
them in the memo's look (:mod:`assessment.reports.pdf.style`) with a bar chart of the pass rates,
histograms of score and PD and the top candidates; every page carries a stamp of rule pack
versions, model, engine and assessment date. The same inputs give a byte-identical PDF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
from reportlab.platypus import KeepTogether, Paragraph, Spacer

from .._shared.text import shown
from ..criteria.evaluate import VERDICTS
from ..criteria.pass_rate import SHARES, asked_of, pass_rates, verdict_counts
from ..decision.decide import RECOMMENDATIONS
from ..reports.fields import Wording
from ..reports.numbers import for_people
from ..reports.pdf.flowables import Grid, bars, page_frame, stacked_bars, write_pdf
from ..reports.pdf.style import Look, fill

__all__ = ["summary_tables", "write_summary_pdf"]

VERDICT_COLUMNS = ("pass", "fail", "insufficient", "not_applicable")
APPROVALS = ("approve", "approve_with_conditions")
SCORE_EDGES = tuple(range(0, 101, 10))
PD_EDGES = (0.01, 0.02, 0.05, 0.10, 0.20)  # lower edges of the bins after the first
PD_LABELS = ("<1%", "1-2%", "2-5%", "5-10%", "10-20%", ">=20%")
TOP_REASONS = 15
EXAMPLES = 3  # values found shown per rejection reason
REASON_COLUMNS = ["reason", "field", "problem", "inputs", "examples", "files"]
_FIELD = re.compile(r"[A-Za-z_][\w.@]*")  # a field, or a series@year, before ": "
_DETAIL = re.compile(r"(?P<problem>.*?) \((?P<detail>(?:expected|got) .*)\)")
BARS_PER_CHART = 20  # a chart is one flowable: a third of a page, so none leaves a gap
GROUPS = (("By province", "province", "provinces"), ("By hub", "hub", "hubs"))


def summary_tables(
    results: pd.DataFrame,
    rejected: pd.DataFrame,
    *,
    rule_ids: list[str],
    titles: dict[str, str],
    flag_rules: list[str] = (),
    programmes: dict[str, str] | None = None,
) -> dict[str, pd.DataFrame]:
    """The summary blocks by title, in order: "By recommendation", "Pass rate per rule",
    "Flags raised" (per rule of ``flag_rules``, the most raised first), "Data quality" (projects
    per band of the data-quality score), "By province", "By hub", "Rejection reasons" (see the
    module docstring)."""
    return {
        "By recommendation": _by_recommendation(results),
        "Pass rate per rule": _pass_rates(results, rule_ids, titles, programmes or {}),
        "Flags raised": _flags_raised(results, [r for r in flag_rules if r in results], titles),
        "Data quality": _quality_bands(results),
        "By province": _by_group(results, "province"),
        "By hub": _by_group(results, "hub"),
        "Rejection reasons": _rejection_reasons(rejected),
    }


def _flags_raised(results: pd.DataFrame, flags: list[str], titles: dict) -> pd.DataFrame:
    """Per flag rule: the projects that raise it, those it cannot check (insufficient) and
    the share raising it; the most raised first, ties by rule id."""
    counts = pd.DataFrame(
        [verdict_counts(results[rule]) for rule in flags],
        columns=list(VERDICTS),
        dtype="int64",
    )
    table = pd.DataFrame(
        {
            "rule_id": flags,
            "title": [titles.get(rule, "") for rule in flags],
            "raised": counts["fail"].to_numpy(dtype="int64"),
            "insufficient": counts["insufficient"].to_numpy(dtype="int64"),
            "share": counts["fail"].to_numpy() / len(results) if len(results) else np.nan,
        }
    )
    table = table.sort_values(["raised", "rule_id"], ascending=[False, True], kind="stable")
    return table.reset_index(drop=True)


def _quality_bands(results: pd.DataFrame) -> pd.DataFrame:
    """Projects per band of ten points of the data-quality score (100 in the top band)."""
    scores = _floats(results.get("data_quality_score", pd.Series(dtype=float)))
    bins = np.clip(np.floor(np.clip(scores, 0, 100) / 10).astype(int), 0, 9)
    labels = [f"{low}-{high}" for low, high in pairwise(SCORE_EDGES)]
    return pd.DataFrame({"band": labels, "projects": np.bincount(bins, minlength=10)})


def _by_recommendation(results: pd.DataFrame) -> pd.DataFrame:
    counts = results["recommendation"].value_counts()
    order = list(RECOMMENDATIONS) + sorted(map(str, set(counts.index) - set(RECOMMENDATIONS)))
    counts = counts.reindex(order, fill_value=0).astype("int64")
    total = int(counts.sum())
    return pd.DataFrame(
        {
            "recommendation": order,
            "projects": counts.to_numpy(),
            "share": counts.to_numpy() / total if total else np.nan,
        }
    )


def _pass_rates(
    results: pd.DataFrame, rule_ids: list[str], titles: dict[str, str], programmes: dict
) -> pd.DataFrame:
    """Verdicts counted per rule, with the pass rate and the fail and insufficient shares
    (:func:`assessment.criteria.pass_rate.pass_rates`: over the projects the rule applies to
    that asked for its programme, ``programmes`` naming each rule's)."""
    rates = pass_rates(results, rule_ids, _asked(results, programmes))
    table = pd.DataFrame(
        {"rule_id": list(rule_ids), "title": [titles.get(r, "") for r in rule_ids]}
    )
    columns = [*VERDICT_COLUMNS, *SHARES.values()]
    table[columns] = rates[columns].to_numpy()
    return table.astype(dict.fromkeys(VERDICT_COLUMNS, "int64"))


def _asked(results: pd.DataFrame, programmes: dict[str, str]) -> dict[str, np.ndarray]:
    """:func:`asked_of` worked out once per programme, not once per rule (a hundred rules ask
    for one of six programmes): each rule gets its programme's array."""
    by_programme = asked_of(results, {p: p for p in dict.fromkeys(programmes.values())})
    return {rule: by_programme[p] for rule, p in programmes.items() if p in by_programme}


def _by_group(results: pd.DataFrame, key: str) -> pd.DataFrame:
    """Projects, eligible, approved and mean score and PD per value of ``key`` (by its name
    where ``<key>_name`` is given), the largest groups first (ties by name); a missing value
    is a group of its own."""
    frame = pd.DataFrame(
        {
            key: results.get(f"{key}_name", results[key]),
            "eligible": results["eligible"].eq(True).fillna(False).astype(bool),
            "approve": results["recommendation"].isin(APPROVALS),
            "score": pd.to_numeric(results["score"]).astype(float),
            "pd": pd.to_numeric(results["pd"]).astype(float),
        }
    )
    grouped = frame.groupby(key, dropna=False, sort=True, observed=True).agg(
        projects=("eligible", "size"),
        eligible=("eligible", "sum"),
        approve=("approve", "sum"),
        mean_score=("score", "mean"),
        mean_pd=("pd", "mean"),
    )
    grouped = grouped.sort_values("projects", ascending=False, kind="stable")
    grouped = grouped.astype({"projects": "int64", "eligible": "int64", "approve": "int64"})
    return grouped.reset_index()


def _rejection_reasons(rejected: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows per reason: the field and the problem, without the value found (a
    row's ``reasons`` split on "; ", each read by :func:`reason_parts`; a reason named twice
    in one row counts once), the most frequent first, ties by reason; with the values found
    (the first :data:`EXAMPLES`, then how many more) and the files they came from (the first
    three by name, then how many more)."""
    rows = rejected.reset_index(drop=True)
    reasons = rows["reasons"].dropna().astype(str)
    split = reasons.str.split("; ").explode().str.strip()
    split = split[split != ""]
    files = rows.get("file", pd.Series("", index=rows.index)).fillna("").astype(str)
    parts = pd.DataFrame(
        [reason_parts(reason) for reason in split], columns=["field", "problem", "value"]
    )
    pairs = parts.assign(row=split.index, file=files.reindex(split.index).to_numpy())
    pairs = pairs.drop_duplicates(["row", "field", "problem"])
    grouped = pairs.groupby(["field", "problem"], sort=False)
    keys = list(grouped.groups)
    table = pd.DataFrame(
        {
            "reason": [f"{field}: {problem}" if field else problem for field, problem in keys],
            "field": [field for field, _ in keys],
            "problem": [problem for _, problem in keys],
            "inputs": grouped.size().to_numpy(),
            "examples": [_listed(list(dict.fromkeys(v)), EXAMPLES) for _, v in grouped["value"]],
            "files": [_files_text(found) for _, found in grouped["file"]],
        },
        columns=REASON_COLUMNS,
    )
    table = table.sort_values(["inputs", "reason"], ascending=[False, True], kind="stable")
    return table.astype({"inputs": "int64"}).reset_index(drop=True)


def reason_parts(reason: str) -> tuple[str, str, str]:
    """A reason as an input problem is written (``field: problem (expected ..., got
    VALUE)``, :func:`assessment.screening.records.problem_text`) as its field, its problem
    and the value found; "" for a part it does not have."""
    field, colon, rest = reason.partition(": ")
    if not colon or not _FIELD.fullmatch(field):
        field, rest = "", reason
    found = _DETAIL.fullmatch(rest)
    if found is None:
        return field, rest, ""
    detail = found["detail"]
    if detail.startswith("got "):
        return field, found["problem"], detail[len("got ") :]
    _, got, value = detail.rpartition(", got ")
    return field, found["problem"], value if got else ""


def _listed(values: list[str], shown_at_most: int) -> str:
    """The non-blank ``values``, the first ``shown_at_most``, then "+N" for the rest."""
    values = [value for value in values if value]
    more = len(values) - shown_at_most
    return ", ".join(values[:shown_at_most]) + (f" +{more}" if more > 0 else "")


def _files_text(files: pd.Series, shown_at_most: int = 3) -> str:
    """The distinct file names (no folder), the first ``shown_at_most`` by name, then "+N"."""
    return _listed(sorted({Path(name).name for name in files if name}), shown_at_most)


def write_summary_pdf(
    results: pd.DataFrame,
    rejected: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    path: str | Path,
    *,
    lang: str = "en",
    templates: str | Path | None = None,
    meta: dict,
    top: int = 25,
) -> Path:
    """Write the portfolio summary (A4) to ``path`` through a temporary file beside it.
    ``tables`` are :func:`summary_tables`; ``meta`` holds ``as_of``, ``rule_versions``,
    ``model``, ``engine``, ``inputs``, ``projects_scored`` and ``rejected``."""
    summary = _Summary(results, tables, Look(lang, templates), meta, top)
    story = summary.story()
    return write_pdf(lambda temporary: _build(story, temporary, summary), path)


@dataclass
class _Summary:
    """The summary PDF in the making: what it prints and the look it prints it in."""

    results: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    look: Look
    meta: dict
    top: int

    @property
    def words(self) -> dict:
        return self.look.words["summary"]

    def story(self) -> list:
        look, words = self.look, self.words
        story = [
            look.para(words["title"], "title", True, look.colour["heading"]),
            look.para(fill(words["as_of"], as_of=self.meta["as_of"])),
        ]
        parts = [
            ("counts", self._counts),
            ("pass_rates", self._pass_rates),
            ("flags", self._flags),
            ("scores", self._scores),
            ("quality", self._quality),
            ("pd", self._pd),
            ("top", self._top),
            ("rejections", self._rejections),
        ]
        parts += [(key, partial(self._group, title, column)) for title, column, key in GROUPS]
        tops = {"top": self.top, "rejections": TOP_REASONS}
        for key, part in parts:
            story += self.block(fill(words["sections"][key], top=tops.get(key, "")), part())
        return story

    def block(self, heading: str, content: list) -> list:
        """A section: its heading kept with its notes and the first table or chart."""
        look = self.look
        content = content or [look.para(self.words["none"])]
        title = look.para(heading, "heading", True, look.colour["heading"])
        lead = next((i for i, part in enumerate(content) if not _is_text(part)), 0) + 1
        return [Spacer(1, 8), KeepTogether([title, Spacer(1, 3), *content[:lead]]), *content[lead:]]

    def grid(self, columns: list[str], widths: list[float]) -> Grid:
        return Grid([self.words["columns"][c] for c in columns], widths)

    def recommendation(self, value: object) -> str:
        return "-" if _missing(value) else str(self.words["recommendations"].get(value, value))

    def _counts(self) -> list:
        grid, words = self.grid(["figure", "count", "share"], [220, 90, 90]), self.words["counts"]
        for key in ("inputs", "projects_scored", "rejected"):
            grid.add([words[key], shown(self.meta[key]), ""])
        for row in self.tables["By recommendation"].itertuples(index=False):
            grid.add(
                [
                    self.recommendation(row.recommendation),
                    shown(row.projects),
                    for_people(row.share, "fraction"),
                ]
            )
        return [grid.build(self.look)]

    def _pass_rates(self) -> list:
        """Per rule (its id and title), the shares that pass, fail and cannot be decided of
        the projects it applies to, with its pass rate written after the bar; the pass rate's
        definition under the chart."""
        rates = self.tables["Pass rate per rule"].dropna(subset=["pass_rate"])
        items = [
            (
                f"{row['rule_id']} {row['title']}".strip(),
                [(100 * row[share], verdict) for verdict, share in SHARES.items()],
                f"{100 * row['pass_rate']:.1f}%",
            )
            for row in rates.to_dict("records")
        ]
        if not items:
            return []
        charts = [
            stacked_bars(items[i : i + BARS_PER_CHART], self.look)
            for i in range(0, len(items), BARS_PER_CHART)
        ]
        definition = self.look.para(self.look.words["pass_rate"]["definition"])
        notes = [self.look.para(self.words["notes"]["pass_rates"]), Spacer(1, 3)]
        last = KeepTogether([charts[-1], Spacer(1, 3), definition])  # never a page apart
        return [*notes, *charts[:-1], last]

    def _scores(self) -> list:
        scores = _floats(self.results["score"])
        if not len(scores):
            return [self.look.para(self.words["notes"]["no_scores"])]
        bins = np.clip(np.floor(np.clip(scores, 0, 100) / 10).astype(int), 0, 9)
        counts = np.bincount(bins, minlength=10)
        labels = [f"{low}-{high}" for low, high in pairwise(SCORE_EDGES)]
        return self._histogram("scores", labels, counts)

    def _flags(self) -> list:
        table = self.tables["Flags raised"]
        grid = self.grid(
            ["rule", "title", "raised", "insufficient", "share"], [130, 236, 45, 55, 45]
        )
        for row in table.itertuples(index=False):
            grid.add(
                [
                    row.rule_id,
                    row.title,
                    shown(row.raised),
                    shown(row.insufficient),
                    for_people(row.share, "fraction"),
                ]
            )
        if not grid.rows:
            return []
        return [self.look.para(self.words["notes"]["flags"]), Spacer(1, 3), grid.build(self.look)]

    def _quality(self) -> list:
        table = self.tables["Data quality"]
        if not table["projects"].sum():
            return []
        counts = table["projects"].to_numpy()
        return self._histogram("quality", table["band"].tolist(), counts)

    def _pd(self) -> list:
        pds = _floats(self.results["pd"])
        if not len(pds):
            return [self.look.para(self.words["notes"]["no_pd"])]
        counts = np.bincount(np.searchsorted(PD_EDGES, pds, side="right"), minlength=6)
        return self._histogram("pd", PD_LABELS, counts)

    def _histogram(self, note: str, labels, counts: np.ndarray) -> list:
        items = [(label, float(n), "bar_project") for label, n in zip(labels, counts, strict=True)]
        chart = bars(items, self.look, shown="{:,.0f}")
        return [self.look.para(self.words["notes"][note]), Spacer(1, 3), chart]

    def _top(self) -> list:
        columns = ["rank", "project_id", "name", "province", "recommendation", "score", "pd"]
        grid = self.grid([*columns, "grade"], [30, 75, 140, 60, 95, 35, 42, 34])
        best = self.results.nsmallest(self.top, "rank") if self.top > 0 else self.results[:0]
        for row in best.itertuples(index=False):
            grid.add(
                [
                    shown(row.rank),
                    shown(row.project_id),
                    shown(row.project_name),
                    shown(getattr(row, "province_name", row.province)),
                    self.recommendation(row.recommendation),
                    shown(row.score, "{:.1f}"),
                    for_people(row.pd, "fraction"),
                    shown(row.grade),
                ]
            )
        ranking = self.look.para(self.words["notes"]["ranking"])
        return [ranking, Spacer(1, 3), grid.build(self.look)] if grid.rows else [ranking]

    def _rejections(self) -> list:
        """The largest reasons for rejecting input rows, each its field (by its label) and
        problem in words, with the values found, the files and the rows."""
        reasons = self.tables["Rejection reasons"].head(TOP_REASONS)
        grid = self.grid(["reason", "examples", "files", "rows"], [201, 110, 150, 50])
        wording = Wording(self.look.lang, words=self.look.words)
        for row in reasons.itertuples(index=False):
            problem = wording.phrase(row.problem, self.look.words["problem_messages"])
            reason = problem
            if row.field:
                reason = fill(self.words["reason"], field=wording.label(row.field), problem=problem)
            grid.add([reason, row.examples, row.files, shown(row.inputs)])
        return [grid.build(self.look)] if grid.rows else []

    def _group(self, title: str, column: str) -> list:
        table = self.tables[title]
        columns = [column, "projects", "eligible", "approve", "mean_score", "mean_pd"]
        grid = self.grid(columns, [171, 60, 60, 70, 70, 80])
        for row in table.itertuples(index=False):
            name, projects, eligible, approve, score, pd_ = row[:6]
            counts = [shown(projects), shown(eligible), shown(approve)]
            grid.add([shown(name), *counts, shown(score, "{:.1f}"), for_people(pd_, "fraction")])
        if not grid.rows:
            return []
        return [grid.build(self.look), Spacer(1, 2), self.look.para(self.words["notes"]["groups"])]

    def footer(self) -> tuple[str, str]:
        """Two lines: model, engine and date; then the rule packs."""
        words, meta = self.words["footer"], self.meta
        packs = ", ".join(f"{k} {v}" for k, v in sorted(meta["rule_versions"].items()))
        first = (
            f"{words['model']} {(meta.get('model') or '-')[:16]} | "
            f"{words['engine']} {meta['engine']} | {words['as_of']} {meta['as_of']}"
        )
        return first, f"{words['rules']}: {packs}"


def _build(story: list, path: str, summary: _Summary) -> None:
    look = summary.look
    doc = look.document(path, summary.words["title"], f"assessment {summary.meta['engine']}")
    header = f"{summary.words['title']} | {summary.meta['as_of']}"
    on_page = page_frame(look, header, summary.footer())
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)


def _is_text(part: object) -> bool:
    return isinstance(part, Paragraph | Spacer)


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, list | tuple | dict) and bool(pd.isna(value)))


def _floats(column: pd.Series) -> np.ndarray:
    values = pd.to_numeric(column).to_numpy(dtype=float, na_value=np.nan)
    return values[np.isfinite(values)]
