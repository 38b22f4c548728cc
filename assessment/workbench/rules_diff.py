"""Compare two rules folders: what changed in the tables, and what it does to a portfolio.

:func:`rule_changes` compares the rule tables as data, rule by rule and column by column; a
segment table row by row, keyed by its segment columns (``segment[in_cluster=true]``: the
threshold moved, a row added or removed, the rows reordered).
:func:`project_flips` scores the same applications under both rule sets and lists each project
whose status (``eligible``, ``not_eligible``, ``insufficient``, ``unverified``,
``not_applicable``), grade (per programme) or recommendation changes, with the rules whose
verdict differs for it, then those whose place among the decision's reasons differs (a pass
that falls within its borderline margin, or on a doubted value, keeps its verdict but sends
the case to a person); :func:`flip_summary` counts the flips per programme by the new status
(became eligible; became ineligible; eligibility unknown: insufficient or unverified, a gate
that awaits data or a person); :func:`verdict_changes`
counts, per rule, the projects whose verdict changes (``pass -> fail`` ...), outcome or not;
:func:`pass_rate_changes` gives each rule's pass rate and its fail and insufficient shares
under both rule sets (the one definition, :mod:`assessment.criteria.pass_rate`).
:func:`write_diff_workbook` writes the tables as the sheets "Rule changes", "Project flips",
"Verdict changes", "Pass rates" and "Summary".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._shared.excel import Table, write_workbook
from .._shared.text import joined, shown
from ..criteria.evaluate import VERDICTS
from ..criteria.pass_rate import SHARES, asked_of, pass_rates
from ..criteria.rules import RULE_COLUMNS, Rule, RuleSet
from ..decision.decide import programmes_as_asked
from ..intake.dictionary import PROGRAMMES
from ..intake.read import Applications
from ..pipeline import Scored, score_read

__all__ = [
    "RulesDiff",
    "diff_rules",
    "flip_summary",
    "pass_rate_changes",
    "project_flips",
    "rule_changes",
    "verdict_changes",
    "write_diff_workbook",
]

COMPARED = [c for c in RULE_COLUMNS if c != "rule_id"] + ["pack"]
CHANGE_COLUMNS = ["rule_id", "change", "column", "old", "new"]
FLIP_COLUMNS = ["project_id", "outcome", "old", "new", "rules"]
VERDICT_CHANGE_COLUMNS = ["rule_id", "old", "new", "projects"]
RATE_CHANGE_COLUMNS = [
    "rule_id",
    *(f"{side}_{column}" for column in ("applicable", *SHARES.values()) for side in ("old", "new")),
    "shift_pp",
]
UNDECIDED = ("insufficient", "unverified")  # statuses that await data or a person
RATE_FORMATS = {
    column: "0.0%" for column in RATE_CHANGE_COLUMNS if column.endswith(("_rate", "_share"))
}
RATE_FORMATS["shift_pp"] = "+0.0;-0.0;0.0"
ABOUT = ("metric", "operator", "threshold", "title_en", "title_zh")  # of RulesDiff.rules
SUMMARY_COLUMNS = [
    "programme",
    "became_eligible",
    "became_ineligible",
    "eligibility_unknown",
    "grade_changed",
    "recommendation_changed",
]


@dataclass
class RulesDiff:
    """Everything one diff produced; the flips are empty without a portfolio; ``rules``:
    what each rule of either set tests and its titles (:data:`ABOUT`), for the reports to
    word an added or removed rule in their language."""

    changes: pd.DataFrame
    flips: pd.DataFrame
    summary: pd.DataFrame
    versions: dict[str, dict[str, str]]
    verdicts: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=VERDICT_CHANGE_COLUMNS)
    )
    rates: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RATE_CHANGE_COLUMNS))
    rules: dict[str, dict[str, object]] = field(default_factory=dict)

    def changed_rates(self) -> pd.DataFrame:
        """The rows of ``rates`` whose projects applied to, pass rate, fail or insufficient
        share differ between the old and the new rules."""
        columns = [c.removeprefix("old_") for c in self.rates.columns if c.startswith("old_")]
        old = self.rates[[f"old_{c}" for c in columns]].astype(float).to_numpy()
        new = self.rates[[f"new_{c}" for c in columns]].astype(float).to_numpy()
        same = (old == new) | (np.isnan(old) & np.isnan(new))
        return self.rates[~same.all(axis=1)]


def diff_rules(
    old: RuleSet,
    new: RuleSet,
    applications: Applications | None = None,
    *,
    as_of: dt.date,
    model=None,
) -> RulesDiff:
    """The table diff and, with ``applications``, the project flips and their summary."""
    versions = {"old": old.versions(), "new": new.versions()}
    about = {rule.rule_id: {k: getattr(rule, k) for k in ABOUT} for rule in old.rules + new.rules}
    if applications is None:
        flips = pd.DataFrame(columns=FLIP_COLUMNS)
        return RulesDiff(rule_changes(old, new), flips, flip_summary(flips), versions, rules=about)
    before = score_read(applications, as_of=as_of, rules=old, model=model)
    after = score_read(applications, as_of=as_of, rules=new, model=model)
    flips = project_flips(before, after)
    changes, summary = rule_changes(old, new), flip_summary(flips)
    rates = pass_rate_changes(before, after)
    verdicts = verdict_changes(before, after)
    return RulesDiff(changes, flips, summary, versions, verdicts, rates, about)


def rule_changes(old: RuleSet, new: RuleSet) -> pd.DataFrame:
    """One row per added or removed rule and per changed column of a kept rule."""
    before = {rule.rule_id: rule for rule in old.rules}
    after = {rule.rule_id: rule for rule in new.rules}
    rows = [_whole(rule, "removed") for rule_id, rule in before.items() if rule_id not in after]
    rows += [_whole(rule, "added") for rule_id, rule in after.items() if rule_id not in before]
    for rule_id in [r for r in before if r in after]:
        rows += _column_changes(before[rule_id], after[rule_id])
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def _whole(rule: Rule, change: str) -> dict:
    whole = f"{rule.metric} {rule.operator} {shown(rule.threshold)} ({rule.title_en})"
    old, new = (whole, "") if change == "removed" else ("", whole)
    return {"rule_id": rule.rule_id, "change": change, "column": "", "old": old, "new": new}


def _column_changes(old: Rule, new: Rule) -> list[dict]:
    rows = []
    for column in COMPARED:
        before, after = getattr(old, column), getattr(new, column)
        if column == "segment":
            rows += _segment_changes(old.rule_id, before, after)
        elif not _same(before, after):
            rows.append(_changed(old.rule_id, column, shown(before), shown(after)))
    return rows


def _changed(rule_id: str, column: str, old: str, new: str) -> dict:
    return {"rule_id": rule_id, "change": "changed", "column": column, "old": old, "new": new}


def _same(old: object, new: object) -> bool:
    if _blank(old) or _blank(new):
        return _blank(old) and _blank(new)
    return bool(old == new)


def _segment_changes(rule_id: str, old: pd.DataFrame | None, new: pd.DataFrame | None) -> list:
    """One row per segment whose threshold moved, was added or removed; the row order counts
    (the first matching row gives the threshold)."""
    if old is None or new is None:
        if old is None and new is None:
            return []
        return [_changed(rule_id, "segment", _rows(old), _rows(new))]
    before, after = _segments(old), _segments(new)
    rows = [
        _changed(rule_id, f"segment[{key}]", shown(before.get(key)), shown(after.get(key)))
        for key in [*before, *(k for k in after if k not in before)]
        if not _same(before.get(key), after.get(key))
    ]
    common = [k for k in before if k in after]
    if not rows and common != [k for k in after if k in before]:
        rows.append(_changed(rule_id, "segment", joined(before), joined(after)))
    return rows


def _segments(table: pd.DataFrame) -> dict[str, object]:
    """Segment key (``in_cluster=true, hub_zone=east``; ``any`` for a catch-all row) -> its
    threshold, in table order."""
    keys = [c for c in table.columns if c not in ("threshold", "unit")]
    found = {}
    for row in table.to_dict("records"):
        parts = [f"{k}={shown(row[k]).lower()}" for k in keys if not _blank(row[k])]
        found[", ".join(parts) or "any"] = row["threshold"]
    return found


def _rows(table: pd.DataFrame | None) -> str:
    return "no segment table" if table is None else f"segment table of {len(table)} rows"


def _blank(value: object) -> bool:
    if value is None or isinstance(value, str) and value == "":
        return True
    return isinstance(value, float) and np.isnan(value)


def project_flips(before: Scored, after: Scored) -> pd.DataFrame:
    """Per project and changed outcome (``{programme}_status``, ``{programme}_grade``,
    ``recommendation``): old and new value and the rules whose verdict differs."""
    old, new = _outcomes(before), _outcomes(after)
    responsible = _responsible(before, after)
    rows = []
    for outcome in old.columns:
        differs = ~_equal(old[outcome], new[outcome])
        for project_id in old.index[differs]:
            rows.append(
                {
                    "project_id": project_id,
                    "outcome": outcome,
                    "old": shown(old.at[project_id, outcome]),
                    "new": shown(new.at[project_id, outcome]),
                    "rules": ", ".join(responsible.get(project_id, [])),
                }
            )
    return pd.DataFrame(rows, columns=FLIP_COLUMNS)


def _outcomes(scored: Scored) -> pd.DataFrame:
    columns = [f"{p}_{kind}" for p in PROGRAMMES for kind in ("status", "grade")]
    frame = scored.evaluation.programmes[columns].astype(object)
    frame.index = scored.frame.index
    frame["recommendation"] = scored.decisions["recommendation"].to_numpy()
    return frame


def _equal(old: pd.Series, new: pd.Series) -> np.ndarray:
    both_missing = old.isna().to_numpy() & new.isna().to_numpy()
    same = (old.fillna("-").astype(str) == new.fillna("-").astype(str)).to_numpy()
    return both_missing | same


def _responsible(before: Scored, after: Scored) -> dict[str, list[str]]:
    """Project -> the rules whose verdict differs, then the rules whose verdict among the
    decision's reasons differs (:func:`_reason_changes`), in rule order."""
    found: dict[str, list[str]] = {}
    for rule_id, codes_old, codes_new in _verdict_codes(before, after):
        for project_id in before.frame.index[codes_old != codes_new]:
            found.setdefault(project_id, []).append(rule_id)
    order = {rule_id: i for i, (rule_id, _, _) in enumerate(_verdict_codes(before, after))}
    for project_id, rules in _reason_changes(before, after).items():
        known = found.setdefault(project_id, [])
        known += sorted(set(rules) - set(known), key=lambda rule: order.get(rule, len(order)))
    return found


def _reason_changes(before: Scored, after: Scored) -> dict[str, set[str]]:
    """Project -> the rules among the decision's reasons under one rule set and not the
    other, or with another verdict there (``pass`` within the borderline margin is reason
    ``borderline``; on a doubted value, ``doubted``)."""
    old, new = (_rule_reasons(scored) for scored in (before, after))
    found = {}
    for project_id, reasons in old.items():
        moved = reasons ^ new.get(project_id, set())
        if moved:
            found[project_id] = {rule_id for rule_id, _ in moved}
    return found


def _rule_reasons(scored: Scored) -> dict[str, set[tuple[str, str]]]:
    """Project -> its decision's reasons that are rules, as (rule, verdict)."""
    return {
        project_id: {(r["criterion"], r["verdict"]) for r in reasons if r.get("kind") == "rule"}
        for project_id, reasons in scored.decisions["reasons"].items()
    }


def verdict_changes(before: Scored, after: Scored) -> pd.DataFrame:
    """Per rule and change of verdict (``pass`` -> ``fail`` ...), the number of projects,
    whether or not an outcome changes with it."""
    names = np.asarray(VERDICTS, dtype=object)
    rows = []
    for rule_id, codes_old, codes_new in _verdict_codes(before, after):
        moved = codes_old != codes_new
        pairs = pd.Series(zip(names[codes_old[moved]], names[codes_new[moved]], strict=True))
        for (was, now), count in pairs.value_counts(sort=False).items():
            rows.append({"rule_id": rule_id, "old": was, "new": now, "projects": int(count)})
    return pd.DataFrame(rows, columns=VERDICT_CHANGE_COLUMNS)


def _asked_rates(evaluation) -> pd.DataFrame:
    """The pass rates of an evaluation over the projects that asked for each rule's
    programme (:func:`assessment.criteria.pass_rate.pass_rates`)."""
    rules = getattr(evaluation, "rules", None)  # a bare table of verdicts: every project
    if rules is None:
        return pass_rates(evaluation.verdicts)
    programme_of = {rule.rule_id: rule.programme for rule in rules.rules}
    asked = asked_of(programmes_as_asked(evaluation), programme_of)
    return pass_rates(evaluation.verdicts, asked=asked)


def pass_rate_changes(before: Scored, after: Scored) -> pd.DataFrame:
    """Per rule of either set (in rule order): the projects it applies to, its pass rate and
    its fail and insufficient shares under the old and the new rules (missing in the set that
    lacks it, or where it applies to no project), and the shift of the pass rate in
    percentage points (:data:`RATE_CHANGE_COLUMNS`)."""
    old, new = (_asked_rates(scored.evaluation) for scored in (before, after))
    rules = list(old.index) + [rule for rule in new.index if rule not in old.index]
    sides = {"old": old.reindex(rules), "new": new.reindex(rules)}
    table = pd.DataFrame({"rule_id": rules})
    for column in RATE_CHANGE_COLUMNS[1:-1]:
        side, name = column.split("_", 1)
        table[column] = sides[side][name].to_numpy(dtype=float)
    table["shift_pp"] = 100 * (table["new_pass_rate"] - table["old_pass_rate"])
    return table.astype({"old_applicable": "Int64", "new_applicable": "Int64"})


def _verdict_codes(before: Scored, after: Scored):
    """Each rule of either set with its verdict codes under both (``not_applicable`` in the
    set that lacks it), in rule order."""
    old, new = before.evaluation.results, after.evaluation.results
    absent = np.full(len(before.frame), VERDICTS.index("not_applicable"))
    for rule_id in list(old) + [r for r in new if r not in old]:
        codes_old = old[rule_id].codes if rule_id in old else absent
        yield rule_id, codes_old, new[rule_id].codes if rule_id in new else absent


def flip_summary(flips: pd.DataFrame) -> pd.DataFrame:
    """Per programme: projects whose status became eligible, not eligible, or undecided
    (:data:`UNDECIDED`), and projects whose grade changed."""
    rows = []
    for programme in PROGRAMMES:
        status = flips.loc[flips["outcome"] == f"{programme}_status", "new"]
        grades = flips[flips["outcome"] == f"{programme}_grade"]
        rows.append(
            {
                "programme": programme,
                "became_eligible": int((status == "eligible").sum()),
                "became_ineligible": int((status == "not_eligible").sum()),
                "eligibility_unknown": int(status.isin(UNDECIDED).sum()),
                "grade_changed": len(grades),
            }
        )
    changed = flips[flips["outcome"] == "recommendation"]
    rows.append({"programme": "all", "recommendation_changed": len(changed)})
    return (
        pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
        .fillna(0)
        .astype({c: "int64" for c in SUMMARY_COLUMNS[1:]})
    )


def write_diff_workbook(diff: RulesDiff, path: str | Path) -> Path:
    """Write the sheets "Rule changes", "Project flips", "Verdict changes", "Pass rates" and
    "Summary" to ``path`` through a temporary file beside it."""
    tables = {
        "Rule changes": diff.changes,
        "Project flips": diff.flips,
        "Verdict changes": diff.verdicts,
        "Pass rates": Table(diff.rates, formats=RATE_FORMATS),
        "Summary": diff.summary,
    }
    return write_workbook(path, tables)
