"""The front of the PDF memo: page one (recommendation, programme verdicts, key figures,
principal reasons), then the project profile, green and carbon with the PUE chart, green
credit, REIT gates and credit risk with the model card."""

from __future__ import annotations

import math

import pandas as pd
from reportlab.platypus import PageBreak, Spacer

from ..._shared.text import MISSING, SEPARATOR, is_missing, joined, shown
from ...criteria.indicators import FALLBACK, OFF_RANGE
from ...intake.dictionary import load_dictionary
from ..pdf.flowables import Grid, bars, tiles
from ..pdf.style import fill
from .facts import DIGITS, Memo, block, inputs_of

KEY_FIGURES = (
    ("pue_assessed", ""),
    ("green_power_share", "fraction"),
    ("energy_mwh", "MWh"),
    ("emissions_tco2", "tCO2"),
    ("emissions_market_tco2", "tCO2"),
    ("cue", "tCO2/MWh"),
    ("dscr_forecast_min", "x"),
    ("distribution_yield_forecast_min", "fraction"),
    ("operating_years", "years"),
    ("total_investment_cny", "CNY"),
)
CARBON_FIGURES = (
    ("energy_mwh", "MWh"),
    ("emission_factor", "tCO2/MWh"),
    ("emissions_tco2", "tCO2"),
    ("emission_factor_market", "tCO2/MWh"),
    ("emissions_market_tco2", "tCO2"),
    ("cue", "tCO2/MWh"),
    ("cue_market", "tCO2/MWh"),
    ("carbon_per_pflops", "tCO2/PFLOPS"),
    ("green_power_share", "fraction"),
    ("green_share_evidenced", "fraction"),
    ("wue_l_per_kwh", "L/kWh"),
)


def page_one(memo: Memo) -> list:
    """The decision and what a person acts on: the recommendation with a one-glance panel,
    the criteria failed or undecided in words, the conditions, the model's factors in plain
    words, what would change the outcome; then, from the next page, the programme verdicts
    and key figures."""
    look, record = memo.look, memo.record
    words, decision = look.words, memo.record.get("decision") or {}
    key = decision.get("recommendation") or "none"
    reason = decision.get("decision_reason_zh" if look.lang == "zh" else "decision_reason")
    purpose = memo.shown(memo.project.get("financing_purpose"))
    story = [
        look.para(words["title"], "title", True, look.colour["heading"]),
        look.para(
            f"{words['project']}: {record['project_id']} {shown(memo.project.get('project_name'))}",
            bold=True,
        ),
        look.para(
            f"{words['as_of']}: {record['as_of']}    {memo.label('financing_purpose')}: {purpose}"
        ),
        Spacer(1, 6),
        look.para(
            f"{words['recommendation']}: {look.word('recommendations', key)}",
            "recommendation",
            True,
            look.colour.get(key, look.colour["text"]),
        ),
        look.para(reason or ""),
        Spacer(1, 5),
        glance(memo, decision),
        Spacer(1, 3),
        *_label_and_needs(memo, decision),
    ]
    story += block(look, "reasons", _reasons(memo, decision))
    if decision.get("conditions"):
        story += block(look, "conditions_now", [_conditions(memo, decision["conditions"])])
    story += _factors(memo)
    if decision.get("path_to_eligibility"):
        story += block(look, "path", [_paths(memo, decision["path_to_eligibility"])])
    story.append(PageBreak())  # the detail starts on a page of its own
    story += block(look, "programmes", [_programmes(memo)])
    return story + block(look, "figures", [_figures(memo, KEY_FIGURES, 2)])


def _paths(memo: Memo, paths: list[dict]):
    """Per programme not won, the smallest changes that would win it."""
    grid = memo.grid(["programme", "change", "criterion"], [110, 250, 151])
    for path in paths:
        changes = [_change(memo, change) for change in path["changes"]]
        if not path["eligible_when_applied"]:
            changes.append(memo.look.words["words"]["path_not_enough"])
        criteria = sorted({c for change in path["changes"] for c in change["criteria"]})
        grid.add(
            [
                memo.look.word("programmes", path["programme"]),
                "\n".join(changes),
                ", ".join(criteria),
            ]
        )
    return grid.build(memo.look)


def _change(memo: Memo, change: dict) -> str:
    """One change in words: ``PUE assessed: 1.38 -> 1.3``, ``DSCR: to be provided (>= 1.2)``."""
    words, unit = memo.look.words["words"], memo.unit_of(change["metric"].split(SEPARATOR)[0])
    metric = joined(memo.label(name) for name in change["metric"].split(SEPARATOR))
    facts = {
        "metric": metric,
        "value": memo.shown(change["from"], unit),
        "target": memo.shown(change["to"], unit),
        "operator": memo.operator(change["operator"]),
    }
    if change["kind"] != "provide":
        means = change.get("means")
        shown = fill(words["path_change"], **facts)
        if means:
            target = memo.shown(means["to"], memo.unit_of(means["metric"]))
            shown += f" ({memo.label(means['metric'])} {means['operator']} {target})"
        return shown
    return fill(words["path_provide" if change["to"] is not None else "path_provide_any"], **facts)


def _label_and_needs(memo: Memo, decision: dict) -> list:
    """The green label asked for (with why it is refused or undecided) and the fields that
    would decide what is undecided."""
    look, found = memo.look, []
    label = decision.get("green_label") or {}
    if label.get("status") not in (None, "not_requested"):
        status = look.word("label_statuses", label["status"])
        why = "; ".join(memo.title(r["criterion"]) for r in label.get("reasons", []))
        found.append(look.para(fill(look.words["words"]["green_label"], status=status)))
        found += [look.para(why, "table")] if why else []
    needed = decision.get("missing_for_decision") or []
    if needed:
        fields = ", ".join(memo.label(name) for name in needed)
        found.append(look.para(fill(look.words["words"]["needed"], fields=fields)))
    return found


def _programmes(memo: Memo):
    """Each programme: applied for, status, score, its rule-score grade (A-D), and for credit
    the model's rating grade (a whole number, 1 best) and PD: grades shown one way, as in
    the workbooks."""
    look = memo.look
    columns = ["programme", "relevant", "status", "score", "rule_grade", "rating_grade", "pd"]
    grid = memo.grid(columns, [110, 50, 110, 45, 65, 75, 56])
    for key, result in memo.record["programmes"].items():
        if not result.get("requested"):  # nothing asked for: no score, grade or PD to read
            result = {k: v for k, v in result.items() if k in ("requested", "status")}
        credit = key == "credit" and result.get("pd") is not None
        grid.add(
            [
                look.word("programmes", key),
                look.word("yes_no", str(bool(result.get("requested"))).lower()),
                look.word("statuses", result.get("status")),
                result.get("score"),
                shown(_rule_grade(result)),
                shown(result.get("grade")) if credit else MISSING,
                memo.shown(result.get("pd"), "fraction"),
            ]
        )
    return grid.build(look)


def _rule_grade(result: dict) -> object:
    """A programme's rule-score grade (A-D): credit keeps it beside its rating grade."""
    return result.get("rule_grade", result.get("grade"))


def _figures(memo: Memo, figures: tuple, pairs: int = 1):
    """Label and value, ``pairs`` of them per row."""
    grid = memo.grid(["figure", "value"] * pairs, [140, 117.5] * pairs)
    values = [(memo.label(name), memo.shown(value_of(memo, name), unit)) for name, unit in figures]
    for start in range(0, len(values), pairs):
        row = [cell for pair in values[start : start + pairs] for cell in pair]
        grid.add(row + [""] * (2 * pairs - len(row)))
    return grid.build(memo.look)


def value_of(memo: Memo, name: str) -> object:
    indicators = memo.record["indicators"]
    value = indicators[name] if name in indicators else memo.value(name)
    if isinstance(value, dict):  # the emission factor with its provenance
        return value.get("value")
    return None if value is pd.NA else value


def _reasons(memo: Memo, decision: dict) -> list:
    """The criteria failed, undecided, narrowly passed or doubted, each in words: what was
    found against which limit, and the clause it comes from."""
    rules = [r for r in decision.get("reasons", []) if r["kind"] == "rule"]
    words = memo.look.words["words"]
    if not rules:
        approved = decision.get("recommendation") in ("approve", "approve_with_conditions")
        return [memo.look.para(words["reasons_none" if approved else "none"])]
    grid = memo.grid(["criterion", "finding", "source"], [160, 120, 231])
    for r in rules:
        grid.add(
            [
                memo.title(r["criterion"]),
                finding(memo, r),
                memo.clause(r),
            ],
            (1, memo.look.colour[r.get("verdict", "fail")]),
        )
    return [grid.build(memo.look)]


def finding(memo: Memo, reason: dict) -> str:
    """``8.0% against <= 2.0%: fails``; an unverified threshold says it never decides alone."""
    unit = reason.get("unit") or memo.unit_of(reason.get("metric") or "")
    checked = OFF_RANGE.get(reason.get("metric") or "")
    if checked and reason.get("verdict") == "fail" and not is_missing(reason.get("value")):
        return _off_range(memo, reason, checked, unit)
    text = fill(
        memo.look.words["findings"][reason.get("verdict", "fail")],
        value=memo.shown(reason.get("value"), unit),
        operator=memo.operator(reason.get("operator", "")),
        threshold=memo.shown(reason.get("threshold"), unit),
    )
    if reason.get("confidence") == "unverified":
        text += " " + memo.look.words["words"]["unverified_short"]
    return text


def _off_range(memo: Memo, reason: dict, checked: str, unit: str) -> str:
    """``WUE 1.8 L/kWh: outside its plausible range by 1.3 L/kWh: fails``: the value checked,
    not the distance the rule tests."""
    return fill(
        memo.look.words["findings"]["off_range"],
        name=memo.label(checked),
        actual=memo.shown(value_of(memo, checked), memo.unit_of(checked)),
        distance=memo.shown(abs(float(reason["value"])), unit),
    )


def _conditions(memo: Memo, conditions: list[dict]):
    """The conditions attached, as the officer would write them into the offer."""
    grid = memo.grid(["condition", "criterion"], [381, 130])
    for c in conditions:
        grid.add([condition_text(memo, c), c["criterion"]])
    return grid.build(memo.look)


def condition_text(memo: Memo, condition: dict) -> str:
    """A condition in the memo's language: its remedy, else what must change."""
    remedy = condition.get("remedy_zh" if memo.look.lang == "zh" else "remedy") or ""
    if remedy and "{" not in remedy:
        return remedy
    return fill(
        memo.look.words["words"]["condition"],
        metric=memo.label(condition.get("metric", "")),
        value=memo.shown(condition.get("value"), condition.get("unit", "")),
        operator=condition.get("operator", ""),
        threshold=memo.shown(condition.get("threshold"), condition.get("unit", "")),
    )


def _factors(memo: Memo) -> list:
    """The risk model's factors in plain words: ``Operating cash flow, Debt service not
    given: DSCR minimum not assessed, which raises the estimated PD``."""
    credit = memo.record["programmes"].get("credit") or {}
    if not credit.get("requested") or credit.get("pd") is None:
        return []
    lines = [factor(memo, r) for r in credit.get("reasons", [])]
    content = [memo.look.para(f"- {line}") for line in lines]
    return block(memo.look, "factors", content)


def factor(memo: Memo, reason: dict) -> str:
    words = memo.look.words["factors"]
    effect = words["raises" if reason["contribution"] > 0 else "lowers"]
    feature = memo.label(reason["feature"])
    if reason["value"] is not None:
        value = memo.shown(reason["value"], memo.unit_of(reason["feature"]))
        return fill(words["given"], feature=feature, value=value, effect=effect)
    blank = [n for n in inputs_of(reason["feature"]) if is_missing(value_of(memo, n))]
    inputs = ", ".join(memo.label(n) for n in blank) or feature
    return fill(words["missing"], inputs=inputs, feature=feature, effect=effect)


def reasons_line(memo: Memo, reasons: list[dict]) -> str:
    """A decision's principal reasons on one line in the memo's words (the template's
    ``reason_line``): each criterion with its :func:`finding` and source, each model factor
    as :func:`factor` words it."""
    words = memo.look.words["reason_line"]
    parts = []
    for reason in reasons or []:
        if reason.get("kind") == "model":
            said = factor(memo, {"feature": reason["criterion"], **reason})
            parts.append(
                fill(words["model"], model=memo.look.words["methods"]["model"], factor=said)
            )
            continue
        found = finding(memo, reason)
        parts.append(
            fill(
                words["rule"], criterion=reason["criterion"], finding=found, source=reason["source"]
            )
        )
    return str(words["separator"]).join(parts)


def glance(memo: Memo, decision: dict):
    """The one-glance panel: the PUE against its limits, the green-power share against its
    evidence, the DSCR against its floor, the PD and the data-quality score."""
    found = [
        _pue_card(memo),
        _green_card(memo),
        _dscr_card(memo),
        _pd_card(memo),
        _quality_card(memo, decision.get("data_quality") or {}),
    ]
    return tiles(memo.look, found, memo.look.style["glance"]["width"])


def _tile(memo: Memo, key: str, value: str, note: str, verdict: str | None) -> tuple:
    fill_colour = memo.look.colour[verdict] if verdict else None
    return memo.look.words["glance"][key], value, note, fill_colour


def _rules_on(memo: Memo, metric: str) -> list[dict]:
    """The gates on ``metric`` with a number for a threshold, of the programmes asked for
    (the legal floor always), that apply."""
    asked = {p for p, result in memo.record["programmes"].items() if result.get("requested")}
    return [
        r
        for r in memo.record["rules"]
        if memo.run.metrics.get(r["rule_id"]) == metric
        and r["severity"] == "gate"
        and r["programme"] in asked | {"compliance"}
        and r["verdict"] != "not_applicable"
        and isinstance(r["threshold"], int | float)
    ]


def _pue_card(memo: Memo) -> tuple:
    words, rules = memo.look.words["glance"], _rules_on(memo, "pue_assessed")
    pue = value_of(memo, "pue_assessed")
    notes = []
    for verdict in ("fail", "pass"):
        limits = sorted({float(r["threshold"]) for r in rules if r["verdict"] == verdict})
        if limits:
            notes.append(fill(words[f"limits_{verdict}"], limits=joined(limits)))
    notes = notes or [words["no_limit"]]
    verdict = _worst(rules) if not is_missing(pue) else "insufficient"
    basis = value_of(memo, "pue_basis")
    basis = "" if is_missing(basis) else memo.code(basis)
    tile = _tile(memo, "pue", memo.shown(pue), words["separator"].join(notes), verdict)
    label = f"{tile[0]} ({basis})" if basis else tile[0]
    return label, *tile[1:]


def _green_card(memo: Memo) -> tuple:
    claimed, evidenced = (
        value_of(memo, n) for n in ("green_share_assessed", "green_share_evidenced")
    )
    note = fill(memo.look.words["glance"]["evidenced"], share=memo.shown(evidenced, "fraction"))
    check = [r for r in memo.record["rules"] if r["rule_id"] == "PLB-GREEN-EVIDENCE"]
    verdict = check[0]["verdict"] if check and check[0]["verdict"] in ("pass", "fail") else None
    return _tile(memo, "green", memo.shown(claimed, "fraction"), note, verdict)


def _dscr_card(memo: Memo) -> tuple:
    rules = _rules_on(memo, "dscr_forecast_min")
    value = memo.shown(value_of(memo, "dscr_forecast_min"), "x")
    if not rules:
        return _tile(memo, "dscr", value, memo.look.words["glance"]["no_limit"], None)
    floor = max(float(r["threshold"]) for r in rules)
    note = fill(
        memo.look.words["glance"]["floor"],
        operator=rules[0]["operator"],
        floor=memo.shown(floor, "x"),
    )
    return _tile(memo, "dscr", value, note, _worst(rules))


def _pd_card(memo: Memo) -> tuple:
    credit, words = memo.record["programmes"].get("credit") or {}, memo.look.words["glance"]
    if not credit.get("requested") or credit.get("pd") is None:
        why = words["no_pd"] if credit.get("requested") else words["not_asked"]
        return _tile(memo, "pd", MISSING, why, None)
    advisory = "grade_advisory" if credit.get("pd_advisory", True) else "grade"
    note = fill(words[advisory], grade=credit.get("grade"))
    return _tile(memo, "pd", memo.shown(credit["pd"], "fraction"), note, None)


def _quality_card(memo: Memo, quality: dict) -> tuple:
    score, words = quality.get("score"), memo.look.words["glance"]
    if score is None:
        return _tile(memo, "quality", MISSING, "", None)
    parts = {k: memo.shown(v, "fraction") for k, v in (quality.get("score_parts") or {}).items()}
    bands = memo.look.style["glance"]["quality_bands"]
    verdict = (
        "pass" if score >= bands["good"] else "insufficient" if score >= bands["fair"] else "fail"
    )
    return _tile(memo, "quality", f"{score}/100", fill(words["quality_parts"], **parts), verdict)


def _worst(rules: list[dict]) -> str | None:
    """fail over insufficient over doubted over pass; None without rules."""
    verdicts = {"doubted" if r.get("withheld") else r["verdict"] for r in rules}
    return next((v for v in ("fail", "insufficient", "doubted", "pass") if v in verdicts), None)


def _model_reasons(memo: Memo, reasons: list[dict]):
    """The model's factors with their log-odds contributions, for the credit analyst."""
    grid = memo.grid(["feature", "value", "contribution"], [180, 120, 120])
    for r in reasons:
        value = memo.shown(r["value"], memo.unit_of(r["criterion"]))
        grid.add([memo.label(r["criterion"]), value, f"{r['contribution']:+.3f}"])
    return grid.build(memo.look)


def profile(memo: Memo) -> list:
    grid = memo.grid(["field", "value", "cell"], [170, 230, 111])
    project = memo.project.to_dict()
    for field in load_dictionary().fields.values():
        value = project.get(field.name)
        if field.type == "series" or value is None or value is pd.NA or value != value:
            continue
        unit = memo.unit_of(field.name)
        cell = memo.find_cell(field.name) or "-"
        grid.add([field.label(memo.look.lang), memo.shown(_plain(value), unit), cell])
    found = [grid.build(memo.look)]
    if not memo.yearly.empty:
        found += [Spacer(1, 4), _yearly(memo)]
    return found


def _plain(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value.item() if hasattr(value, "item") else value


def _yearly(memo: Memo):
    """Series by year (the last seven years), in the template's money unit."""
    rows = memo.yearly
    keys = zip(rows["series"], rows["year"].astype(int), strict=True)
    values = dict(zip(keys, rows["value"], strict=True))
    years = sorted({year for _, year in values})[-7:]
    width = min(60.0, 341.0 / max(1, len(years)))
    money = memo.look.words["money"]
    header = [f"{memo.look.word('columns', 'series')} ({money['unit']})", *map(str, years)]
    grid = Grid(header, [170, *[width] * len(years)])
    for series in sorted({series for series, _ in values}):
        found = (values.get((series, year)) for year in years)
        divisor = float(money["divisor"])
        cells = (shown(None if v is None else v / divisor, digits=DIGITS) for v in found)
        grid.add([memo.label(series), *cells])
    return grid.build(memo.look)


def _rule_grid(memo: Memo, rules: list[dict]):
    """Criterion, verdict, observed and threshold of some rules."""
    grid = memo.grid(
        ["criterion", "verdict", "observed", "threshold", "severity"], [230, 60, 80, 85, 56]
    )
    for rule in rules:
        verdict, colour = memo.rule_verdict(rule)
        grid.add(
            [
                memo.title(rule["rule_id"]),
                verdict,
                memo.shown(rule["value"], memo.rule_unit(rule)),
                f"{memo.operator(rule['operator'])} "
                f"{memo.shown(rule['threshold'], memo.rule_unit(rule))}",
                memo.look.word("severities", rule["severity"]),
            ],
            (1, colour),
        )
    return grid.build(memo.look)


def _programme_rules(memo: Memo, programme: str, gates_only: bool = False) -> list:
    rules = [
        r
        for r in memo.record["rules"]
        if r["programme"] == programme
        and r["verdict"] != "not_applicable"
        and (r["severity"] == "gate" or not gates_only)
    ]
    result = memo.record["programmes"].get(programme, {})
    words = memo.look.words["words"]
    summary = fill(
        words["programme_summary"],
        status=memo.look.word("statuses", result.get("status")),
        score=shown(result.get("score"), digits=DIGITS),
        grade=shown(_rule_grade(result)),
    )
    return (
        [memo.look.para(summary), Spacer(1, 3), _rule_grid(memo, rules)]
        if rules
        else [memo.look.para(summary)]
    )


def green(memo: Memo) -> list:
    found = []
    chart, origin = _pue_chart(memo)
    if chart is not None:
        lead = fill(memo.look.words["words"]["pue_chart"], origin=shown(origin))
        found += [memo.look.para(lead), chart, Spacer(1, 4)]
    found += [
        _figures(memo, CARBON_FIGURES),
        Spacer(1, 3),
        memo.look.para(_factor_note(memo), "table"),
    ]
    return found + [Spacer(1, 4), *_programme_rules(memo, "green")]


def _factor_note(memo: Memo) -> str:
    factor = memo.record["indicators"].get("emission_factor") or {}
    words = memo.look.words["words"]
    if factor.get("value") is None:  # no province to take a factor for
        return words["factor_none"]
    note = fill(
        words["factor_note"],
        value=shown(factor.get("value"), digits=DIGITS),
        year=factor.get("year"),
        area=memo.code(factor.get("area")),
        level=memo.code(factor.get("level")),
        series=memo.publication(factor.get("series") or ""),
        market_year=str(memo.record["indicators"].get("emission_factor_market_year")),
    )
    if factor.get("status") == FALLBACK:
        note += " " + words["factor_fallback"]
    return note


def _pue_chart(memo: Memo) -> tuple[object, float]:
    """The project's PUE and each applicable PUE limit, as horizontal bars from an axis
    near the smallest of them (the chart, or None, and where its axis starts)."""
    metrics = memo.run.metrics
    limits = [
        (r["rule_id"], float(r["threshold"]), "bar_limit")
        for r in memo.record["rules"]
        if metrics.get(r["rule_id"]) == "pue_assessed"
        and r["verdict"] != "not_applicable"
        and isinstance(r["threshold"], int | float)
    ]
    pue = memo.record["indicators"].get("pue_assessed")
    if pue is None or not limits:
        return None, 0.0
    items = [(memo.label("pue_assessed"), float(pue), "bar_project"), *limits]
    low = min(value for _, value, _ in items)
    origin = max(0.0, math.floor((low - 0.05) * 10) / 10)  # near the smallest: PUE >= 1
    return bars(items, memo.look, float(pue), origin=origin), origin


def green_credit(memo: Memo) -> list:
    return _programme_rules(memo, "green_credit")


def reit(memo: Memo) -> list:
    return _programme_rules(memo, "reit", gates_only=True)


def credit(memo: Memo) -> list:
    look = memo.look
    found = _programme_rules(memo, "credit")
    result = memo.record["programmes"].get("credit", {})
    if result.get("pd") is None:
        return found + [Spacer(1, 3), look.para(look.words["words"]["no_model"])]
    summary = fill(
        look.words["words"]["model_summary"],
        pd=memo.shown(result["pd"], "fraction"),
        grade=result.get("grade"),
    )
    reasons = [dict(criterion=r["feature"], **r) for r in result.get("reasons", [])]
    found += [Spacer(1, 4), look.para(summary)]
    found += [_model_reasons(memo, reasons)] if reasons else []
    if result.get("pd_advisory", True):
        found += [Spacer(1, 3), look.para(look.words["words"]["pd_advisory"])]
    return found + [Spacer(1, 4), _card(memo)]


def _card(memo: Memo):
    card = memo.scored.model.card
    holdout = card.get("metrics", {}).get("holdout") or card.get("metrics", {}).get(
        "cross_validation", {}
    )
    balance = card.get("class_balance", {})
    rows = [
        ("kind", card.get("kind")),
        ("target", card.get("target")),
        ("trained_on", card.get("trained_on")),
        ("training_rows", balance.get("rows")),
        ("default_rate", memo.shown(balance.get("default_rate"), "fraction")),
        ("auc", shown(holdout.get("auc"), digits=DIGITS)),
        ("gini", shown(holdout.get("gini"), digits=DIGITS)),
        ("ks", shown(holdout.get("ks"), digits=DIGITS)),
        ("calibration", (card.get("calibration") or {}).get("method")),
        ("features", len(card.get("features", []))),
        ("sha256", card.get("sha256")),
    ]
    grid = memo.grid(["card", "value"], [140, 371])
    for key, value in rows:
        value = memo.code(value) if isinstance(value, str) else shown(value, digits=DIGITS)
        grid.add([memo.look.word("card", key), value])
    return grid.build(memo.look)
