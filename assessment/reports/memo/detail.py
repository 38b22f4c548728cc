"""The back of the PDF memo: every criterion with its source cell and clause, data quality
and input problems, conditions, and the annex of sources and method versions."""

from __future__ import annotations

from reportlab.platypus import KeepTogether, Spacer

from ..._shared.text import shown
from ..pdf.style import fill
from .facts import DIGITS, Memo


def criteria(memo: Memo) -> list:
    """Every rule that applies: criterion, threshold, observed, source cell, verdict, clause;
    then one line naming the rules that do not apply to this project or date."""
    look = memo.look
    columns = ["criterion", "threshold", "observed", "cell", "verdict", "source", "confidence"]
    grid = memo.grid(columns, [106, 46, 46, 56, 48, 146, 63])  # ids and "insufficient" fit
    metrics = memo.run.metrics
    rules = memo.record["rules"]
    for rule in (r for r in rules if r["verdict"] != "not_applicable"):
        verdict, colour = memo.rule_verdict(rule)
        confidence = rule["confidence"]
        verified = confidence == "verified"
        if not verified:
            grid.colours.append((len(grid.rows), 6, look.colour["unverified"]))
        grid.add(
            [
                memo.title(rule["rule_id"]),
                f"{memo.operator(rule['operator'])} "
                f"{memo.shown(rule['threshold'], memo.rule_unit(rule))}",
                memo.shown(rule["value"], memo.rule_unit(rule)),
                memo.source_cell(metrics[rule["rule_id"]]),
                verdict,
                memo.clause(rule),
                look.word("confidences", confidence)
                if verified
                else f"* {look.word('confidences', confidence)}",
            ],
            (4, colour),
        )
    note = look.para(
        look.words["words"]["unverified_note"], "table", colour=look.colour["unverified"]
    )
    found = [grid.build(look), Spacer(1, 2), note]
    idle = [r["rule_id"] for r in rules if r["verdict"] == "not_applicable"]
    if idle:
        found.append(
            look.para(f"{look.words['words']['not_applicable']}: {', '.join(idle)}", "table")
        )
    return found


def quality(memo: Memo) -> list:
    look = memo.look
    found = (memo.record.get("decision") or {}).get("data_quality")
    lines = []
    if found:
        lines.append(look.word("quality", found["verdict"]))
        if found.get("missing"):
            missing = ", ".join(memo.label(name) for name in found["missing"])
            lines.append(f"{look.words['words']['missing']}: {missing}")
        for assumption in found.get("assumed", []):
            phrase = look.words["assumptions"].get(assumption.get("code"))
            facts = {k: memo.code(v) if isinstance(v, str) else v for k, v in assumption.items()}
            said = fill(phrase, **facts) if phrase else assumption.get("text")
            lines.append(f"{look.words['words']['assumed']}: {said}")
    story = [look.para(line) for line in lines]
    problems = _problems(memo)
    return story + ([Spacer(1, 3), problems] if problems is not None else [])


def _problems(memo: Memo):
    mine = memo.run.rows_of("problems", str(memo.record["project_id"]))
    if mine.empty:
        return None
    grid = memo.grid(["cell", "field", "severity", "message"], [80, 110, 50, 271])
    for p in mine.itertuples():
        where = memo.cell(f"{p.sheet}!{p.cell}") if p.cell else p.sheet or "-"
        grid.add(
            [
                where,
                memo.label(p.field) if p.field else "-",
                memo.look.word("problem_severities", p.severity),
                memo.look.words["problem_messages"].get(p.message, p.message),
            ]
        )
    return grid.build(memo.look)


def conditions(memo: Memo) -> list:
    look = memo.look
    found = []
    for c in (memo.record.get("decision") or {}).get("conditions", []):
        text_ = fill(
            look.words["words"]["condition"],
            metric=memo.label(c.get("metric", "")),
            value=memo.shown(c.get("value"), c.get("unit", "")),
            operator=memo.operator(c.get("operator", "")),
            threshold=memo.shown(c.get("threshold"), c.get("unit", "")),
        )
        remedy = c.get("remedy_zh" if look.lang == "zh" else "remedy") or ""
        line = fill(
            look.words["words"]["condition_line"],
            title=memo.title(c["criterion"]),
            change=text_,
            remedy=remedy,
            source=c.get("source", ""),
        )
        found.append(look.para(line))
    return found


def annex(memo: Memo) -> list:
    look = memo.look
    widths = [70, 76, 244, 55, 66]  # a source id (ENGINE-CREDIT) on one line
    grid = memo.grid(["pack", "source_id", "document", "date", "confidence"], widths)
    for pack in memo.scored.evaluation.rules.packs:
        for source_id, source in pack.sources.items():
            document = fill(
                look.words["words"]["document"],
                title=memo.translated(source, "title"),
                issuer=memo.translated(source, "issuer"),
            )
            grid.add(
                [
                    pack.id,
                    source_id,
                    document,
                    shown(source.get("date"), digits=DIGITS),
                    look.word("confidences", source.get("confidence")),
                ]
            )
    return [grid.build(look), Spacer(1, 5), _methods(memo)]


def _methods(memo: Memo):
    from ... import __version__

    evaluation, look = memo.scored.evaluation, memo.look
    rows = [("engine", __version__), ("as_of", memo.record["as_of"])]
    rows += [
        (
            f"{look.word('columns', 'pack')} {p.id}",
            f"{p.version} ({p.title_en if look.lang == 'en' else p.title_zh})",
        )
        for p in evaluation.rules.packs
    ]
    factor = memo.record["indicators"].get("emission_factor") or {}
    series = factor.get("series")
    rows.append(("emission_factors", memo.publication(series) if series else "-"))
    if memo.scored.model is not None:
        card = memo.scored.model.card
        kind = memo.code(card.get("kind"))
        rows.append(("model", f"{kind} {card.get('sha256')} ({card.get('trained_on')})"))
    grid = memo.grid(["method", "version"], [140, 371])
    for key, value in rows:
        grid.add([look.word("methods", key) if key in look.words["methods"] else key, value])
    return grid.build(look)


def approval(memo: Memo) -> list:
    """A form to print and sign: prepared by (the officer, when named), reviewed by, the
    decision taken (the choices to tick), the date, and room for comments."""
    look, words = memo.look, memo.look.words["approval"]
    grid = memo.grid(["role", "name", "signature", "date"], [110, 170, 140, 91])
    room = "\n\n"  # a line's height to sign or write in
    grid.add([words["prepared_by"], memo.run.officer, room, ""])
    grid.add([words["reviewed_by"], "", room, ""])
    grid.add([words["decision"], words["choices"], room, ""])
    grid.add([words["comments"], "", room * 3, ""])
    return [KeepTogether([look.para(words["note"]), grid.build(look)])]  # one page
