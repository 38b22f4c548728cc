"""Results as plain text lines and JSON-ready records, for a terminal or a log.

The ``assess`` commands print what these functions return; nothing here prints. Each function
takes the library's own result (an :class:`Applications`, a :class:`Scored`, a project record,
a rules diff ...) and gives a list of lines or a dict of plain values.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .._shared.text import joined, shown
from ..criteria.cases import uncovered
from ..criteria.indicators import FALLBACK
from ..criteria.reference import check_reference
from ..criteria.rules import RuleSet
from ..decision.decide import check_decision_tables
from ..errors import Problem
from ..intake.cells import plain
from ..intake.read import Applications
from ..pipeline import Scored, project_records
from .numbers import for_people
from .templates import load_template

GROUP_FROM = 5  # missing-field warnings on this many rows of one file print as one line
SUMMARY_COLUMNS = [
    "project_name",
    "province",
    "hub",
    "facility_type",
    "project_kind",
    "racks",
    "it_load_mw",
    "pue",
    "green_power_share",
    "total_investment_cny",
]


def problem_line(row: dict) -> str:
    """``file:Sheet!B7 [error] DC-1 pue: out of range; expected between 1 and 3; got '0.95'
    (hint: ...)``: an input problem row, rendered as every problem is (:class:`Problem`)."""
    return Problem.from_row(row).render()


def problem_lines(problems: pd.DataFrame, every_problem: bool = False) -> list[str]:
    """One line per problem; missing-field warnings repeated over many rows of one file as one
    line per field and file, unless every problem is asked for."""
    listed, grouped = _split_missing(problems, every_problem)
    return [problem_line(row._asdict()) for row in listed.itertuples(index=False)] + grouped


def _split_missing(problems: pd.DataFrame, every_problem: bool) -> tuple[pd.DataFrame, list[str]]:
    missing = (problems["message"] == "missing") & (problems["severity"] == "warning")
    counts = (
        problems[missing].groupby(["file", "field"], sort=False)["project_id"].transform("size")
    )
    grouped = missing & (counts.reindex(problems.index, fill_value=0) >= GROUP_FROM)
    if every_problem or not grouped.any():
        return problems, []
    lines = []
    for (file, field), rows in problems[grouped].groupby(["file", "field"], sort=False):
        ids = ", ".join(rows["project_id"].head(3)) + (", ..." if len(rows) > 3 else "")
        lines.append(
            f"{file} [warning] {field}: missing in {len(rows)} projects ({ids}); "
            f"expected {rows['expected'].iloc[0]} (--every-problem lists each)"
        )
    return problems[~grouped], lines


def check_lines(result: Applications, columns: str | None, every_problem: bool) -> list[str]:
    """``assess check``'s table: the chosen project columns, every problem, and a count."""
    projects, _, problems = result
    chosen = (
        projects.columns.tolist()
        if columns == "all"
        else (columns.split(",") if columns else SUMMARY_COLUMNS)
    )
    lines = []
    with pd.option_context(
        "display.width", 200, "display.max_columns", None, "display.max_rows", None
    ):
        if len(projects):
            table = projects[[c for c in chosen if c in projects.columns]]
            lines.append(table.to_string(float_format=shown))
    lines += problem_lines(problems, every_problem)
    errors = int((problems["severity"] == "error").sum())
    lines.append(f"{len(projects)} projects; {errors} errors, {len(problems) - errors} warnings")
    return lines


def records(frame: pd.DataFrame) -> list[dict]:
    """A table as JSON-ready records: plain Python values, ISO dates, None for missing."""
    return [
        {key: plain(value) for key, value in row.items()} for row in frame.to_dict(orient="records")
    ]


def applications_json(result: Applications) -> dict[str, list[dict]]:
    """Records keyed by canonical names; base units, ISO dates, null for missing."""
    projects, yearly, problems = result
    return {
        "projects": records(projects.reset_index()),
        "yearly": records(yearly),
        "problems": records(problems),
    }


def score_json(scored: Scored) -> dict[str, object]:
    """``{as_of, rule_packs, projects: [...], problems: [...]}``."""
    return {
        "as_of": scored.as_of.isoformat(),
        "rule_packs": scored.evaluation.rules.versions(),
        "projects": project_records(scored),
        "problems": records(scored.applications.problems),
    }


def score_lines(record: dict, all_rules: bool = False) -> list[str]:
    """A project's result as readable lines: programmes, key indicators, rule verdicts."""
    lines = [f"{record['project_id']} (as of {record['as_of']})"]
    if record.get("decision"):
        lines.extend(_decision_lines(record["decision"]))
    for programme, result in record["programmes"].items():
        status = result["status"].replace("_", " ")
        asked = result["requested"]  # nothing asked for: no score or grade to read
        score = "-" if result["score"] is None or not asked else f"{result['score']:g}"
        grade = (result.get("rule_grade", result["grade"]) if asked else None) or "-"
        lines.append(f"  {programme:<13} {status:<15} score: {score:<6} rule grade: {grade}")
    if "pd" in record["programmes"]["credit"] and record["programmes"]["credit"]["requested"]:
        lines.append("  " + _model_text(record["programmes"]["credit"]))
    lines.append("  " + _indicator_text(record["indicators"]))
    hidden = 0
    for rule in record["rules"]:
        if rule["verdict"] == "not_applicable" and not all_rules:
            hidden += 1
            continue
        lines.append(f"  {rule['verdict']:<14} {rule['rule_id']:<24} {_rule_text(rule)}")
    if hidden:
        lines.append(f"  ({hidden} rules not applicable; --all-rules lists them)")
    return lines


def _decision_lines(decision: dict) -> list[str]:
    """The recommendation, why, and the conditions attached."""
    quality = decision["data_quality"]
    lines = [
        f"  recommendation: {decision['recommendation'].upper()} "
        f"({decision['decision_reason']}; data {quality['verdict']}, "
        f"quality score {shown(quality.get('score'))}/100)"
    ]
    label = decision.get("green_label") or {}
    if label.get("status", "not_requested") != "not_requested":
        lines.append(f"  green label: {label['status'].replace('_', ' ')}")
        lines += [f"    {_reason_line(r)}" for r in label.get("reasons", [])]
    if decision.get("missing_for_decision"):
        lines.append(f"  needed to decide: {', '.join(decision['missing_for_decision'])}")
    for reason in decision["reasons"]:
        lines += _decision_reason_lines(reason)
    lines += [f"    condition: {c['text']} ({c['criterion']})" for c in decision["conditions"]]
    lines += [_path_line(path) for path in decision.get("path_to_eligibility", [])]
    return lines


def _decision_reason_lines(reason: dict) -> list[str]:
    """A failed rule with its remedy, or a model factor with its contribution."""
    if reason["kind"] != "rule":
        return [
            f"    model factor {reason['criterion']}={shown(reason['value'])} "
            f"(+{reason['contribution']:.3f})"
        ]
    lines = [f"    because {_reason_line(reason)}"]
    if "{" not in reason.get("remedy", "{") and reason["verdict"] == "fail":
        lines.append(f"      {reason['remedy']}")
    return lines


VERBS = {
    "fail": "fails",
    "borderline": "passes only narrowly",
    "doubted": "passes on a doubted value",
}


def _reason_line(reason: dict) -> str:
    """``GRN-PUE-GRADE2: pue_assessed 1.35 fails <= 1.3 [GB40879]``."""
    verb = VERBS.get(reason["verdict"], "cannot be checked against")
    unverified = " (unverified)" if reason.get("confidence") == "unverified" else ""
    return (
        f"{reason['criterion']}{unverified}: {reason['metric']} {_value(reason, 'value')} {verb} "
        f"{reason['operator']} {_value(reason, 'threshold')} [{reason['source']}]"
    )


def _path_line(path: dict) -> str:
    """``to be eligible for green: pue_assessed 1.38 -> 1.3``, with a warning when the
    changes alone were not found to be enough."""
    enough = "" if path["eligible_when_applied"] else " (not enough alone: see the undecided rules)"
    return f"    to be eligible for {path['programme']}: {path['text']}{enough}"


def _model_text(credit: dict) -> str:
    """``PD 2.14% (grade 4, gbm 408706040df5); raised by ltv=- (+0.452), ...``."""
    reasons = (
        ", ".join(
            f"{r['feature']}={shown(r['value'])} (+{r['contribution']:.3f})"
            for r in credit["reasons"]
        )
        or "none"
    )
    missing = (
        f"; missing: {', '.join(credit['missing_features'])}" if credit["missing_features"] else ""
    )
    advisory = " advisory: not calibrated on real outcomes, never declines;" * bool(
        credit.get("pd_advisory", True)
    )
    return (
        f"PD {for_people(credit['pd'], 'fraction')} (rating grade {credit['grade']}, "
        f"{credit['model']['kind']} "
        f"{credit['model']['sha256'][:12]});{advisory} raised by {reasons}{missing}"
    )


def _indicator_text(found: dict) -> str:
    factor = found["emission_factor"]
    source = (
        f"factor {shown(factor['value'])} tCO2/MWh, {factor['area']} {factor['year']} "
        f"{factor['level']}"
        + (", fallback: none published yet" if factor["status"] == FALLBACK else "")
        if factor["value"] is not None
        else "no emission factor: province unknown"
    )
    parts = [
        f"energy {for_people(found.get('energy_mwh'), 'MWh')}",
        f"emissions {for_people(found.get('emissions_tco2'), 'tCO2')} ({source})",
        f"CUE {for_people(found.get('cue'))}",
        f"operating {for_people(found.get('operating_years'), 'years')}",
        f"DSCR forecast min {for_people(found.get('dscr_forecast_min'), 'x')}",
        f"DSCR history min {for_people(found.get('dscr_hist_min'), 'x')}",
        f"yield min {for_people(found.get('distribution_yield_min'), 'fraction')}",
    ]
    return "; ".join(parts)


def _value(item: dict, key: str) -> str:
    """A rule's or reason's value or threshold in its unit, as people write it (a set of
    values in brackets)."""
    value = item[key]
    if isinstance(value, list):
        return f"({joined(for_people(v, item.get('unit') or '') for v in value)})"
    return for_people(value, item.get("unit") or "")


def _rule_text(rule: dict) -> str:
    limit = "" if rule["threshold"] is None else f" {rule['operator']} {_value(rule, 'threshold')}"
    return (
        f"{_value(rule, 'value')}{limit} [{rule['severity']}; {rule['source']} {rule['clause']}"
        f"{'; ' + rule['confidence'] if rule['confidence'] != 'verified' else ''}]"
    )


def problem_summary_lines(problems: pd.DataFrame) -> list[str]:
    """``input problems: 1 errors, 2 warnings (assess check lists them)``, or nothing."""
    errors = int((problems["severity"] == "error").sum())
    if not len(problems):
        return []
    return [
        f"input problems: {errors} errors, {len(problems) - errors} warnings "
        "(assess check lists them)"
    ]


def rules_check_lines(rule_set: RuleSet) -> list[str]:
    """Each pack with its rules counted by severity, the decision tables, and ``ok: ...``."""
    lines = []
    for pack in rule_set.packs:
        counts = pd.Series([r.severity for r in pack.rules]).value_counts().to_dict()
        summary = ", ".join(f"{count} {severity}" for severity, count in sorted(counts.items()))
        lines.append(f"{pack.id} {pack.version}: {len(pack.rules)} rules ({summary})")
    lines.append(check_decision_tables(rule_set))
    lines.append(check_reference(rule_set.reference_dir))
    lines.append(f"ok: {len(rule_set.rules)} rules in {len(rule_set.packs)} packs")
    return lines


def rules_test_lines(rule_set: RuleSet, results: pd.DataFrame) -> list[str]:
    """Each failed case and each rule without a case, then the counts."""
    lines = [
        f"FAIL {row['pack']} {row['case_id']} {row['rule_id']} as of {row['as_of']}: "
        f"expected {row['expected']}, got {row['got']} ({row['note']})"
        for row in results[~results["ok"]].to_dict("records")
    ]
    untested = uncovered(rule_set, results)
    lines += [f"NO CASE {rule_id}: add rows for it to its pack's cases.csv" for rule_id in untested]
    passed = int(results["ok"].sum())
    lines.append(
        f"{passed} passed, {len(results) - passed} failed, {len(untested)} rule(s) without a case"
    )
    return lines


def diff_lines(diff, portfolio: bool) -> list[str]:
    """The printed rules diff (a ``workbench.rules_diff.RulesDiff``): rule changes, then project
    flips, the summary per programme and the verdict changes per rule."""
    if diff.changes.empty:
        lines = ["no changes in the rule tables"]
    else:
        lines = [f"{len(diff.changes)} rule change(s):"]
        for row in diff.changes.itertuples(index=False):
            detail = f"{row.column}: {row.old} -> {row.new}" if row.column else row.old or row.new
            lines.append(f"  {row.change:<8} {row.rule_id} {detail}")
    if portfolio:
        projects = diff.flips["project_id"].nunique()
        lines.append(f"{projects} project(s) flip:" if projects else "no project flips")
        for row in diff.flips.itertuples(index=False):
            lines.append(f"  {row.project_id} {row.outcome}: {row.old} -> {row.new} ({row.rules})")
        lines += [_summary_line(row) for row in diff.summary.itertuples(index=False)]
        lines += [
            f"  {row.rule_id}: {row.old} -> {row.new} for {row.projects} project(s)"
            for row in diff.verdicts.itertuples(index=False)
        ]
        lines += _rate_lines(diff.changed_rates())
    return lines


def _rate_lines(rates: pd.DataFrame) -> list[str]:
    """The pass rates that change (old -> new), the pass rate's definition under them."""
    if rates.empty:
        return []
    lines = [f"{len(rates)} pass rate(s) change:"]
    for row in rates.to_dict("records"):
        parts = [
            f"{name} {for_people(row[f'old_{column}'], 'fraction')} -> "
            f"{for_people(row[f'new_{column}'], 'fraction')}"
            for name, column in _RATE_PARTS
        ]
        lines.append(f"  {row['rule_id']}: {'; '.join(parts)}")
    return [*lines, load_template("en.yaml")["pass_rate"]["definition"]]


_RATE_PARTS = (
    ("pass rate", "pass_rate"),
    ("fail", "fail_share"),
    ("cannot be decided", "insufficient_share"),
)


def _summary_line(row) -> str:
    if row.programme == "all":
        return f"  recommendation changed for {row.recommendation_changed} project(s)"
    return (
        f"  {row.programme}: {row.became_eligible} became eligible, {row.became_ineligible} "
        f"ineligible, {row.eligibility_unknown} unknown; {row.grade_changed} grade(s) changed"
    )


def tables_json(tables: dict[str, pd.DataFrame], **extra: object) -> dict[str, object]:
    """Named tables as records, after any plain values given (``extra``)."""
    return {**extra, **{name: records(table) for name, table in tables.items()}}


def training_lines(model, digest: str, output: str, rows: int) -> list[str]:
    """``wrote model.skops (sha256 ...): gbm, 12 features, 2000 rows`` and the metrics."""
    metrics = model.card["metrics"]
    part = "hold-out" if metrics["holdout"] else "cross-validation"
    shown = metrics["holdout"] or metrics["cross_validation"]
    return [
        f"wrote {output} (sha256 {digest[:12]}...): {model.kind}, "
        f"{len(model.features)} features, {rows} rows",
        f"{part}: " + ", ".join(f"{k} {v:.4f}" for k, v in shown.items()),
    ]


def rejected_lines(
    rejected: pd.DataFrame,
    limit: int | None = 20,
    rest: str = "the Rejected sheet lists each",
    severity: str = "rejected",
) -> list[str]:
    """One line per rejected input (``file:sheet!cell [rejected] id: reasons``; ``severity``
    ``warning`` for a scored project's warnings), at most ``limit`` of them and then how many
    more (and where the ``rest`` are)."""
    shown = rejected if limit is None else rejected.head(limit)
    lines = []
    for row in shown.to_dict("records"):
        subject = "file" if _blank(row.get("project_id")) else str(row["project_id"])
        place = {key: row.get(key) for key in ("file", "sheet", "cell")}
        if _blank(row.get("cell")):
            place["row"] = row.get("row")
        lines.append(
            Problem.from_row(
                {**place, "message": row.get("reasons"), "severity": severity, "subject": subject}
            ).render()
        )
    if len(rejected) > len(shown):
        lines.append(f"... and {len(rejected) - len(shown)} more ({rest})")
    return lines


def _blank(value: object) -> bool:
    return value is None or value != value or str(value) == ""


def frame_lines(table: pd.DataFrame) -> list[str]:
    """A table as fixed-width text without its index."""
    return [table.to_string(index=False)]


def wrote_lines(paths: Sequence[object], made: Sequence[object] = ()) -> list[str]:
    """``made folder X`` for each folder made, then ``wrote Y`` for each file written."""
    return [f"made folder {folder}" for folder in made] + [f"wrote {path}" for path in paths]
