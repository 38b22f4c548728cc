"""What the pages (:mod:`assessment.service.pages`) show, in words: the decision page's parts
from a stored assessment, the register's rows, and errors.

The decision page says what the memo says, in the memo's words: its wording helpers
(:class:`assessment.reports.memo.facts.Memo` and the front page's finding, factor and condition
sentences) work on the stored result, with the stored normalized record standing for the scored
project. Nothing here decides anything: the stage of an assessment is where its trail stands.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import pandas as pd
from fastapi.exceptions import RequestValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException

from .._shared.text import MISSING, shown
from ..criteria.rules import load_rules
from ..decision.decide import RECOMMENDATIONS
from ..reports.memo.facts import Memo
from ..reports.memo.front import condition_text, factor, finding
from ..reports.pdf.style import Look, fill
from ..reports.text import problem_line
from . import desk, register
from .app import STATUS
from .register import Assessment, Event, RegisterError, User

STAGES = ("awaiting_decision", "awaiting_sign_off", "signed_off")
MAX_ROWS = 200  # the register page lists at most this many of the assessments that match
STATUS_COLOURS = {"eligible": "pass", "not_eligible": "fail", "not_requested": "not_applicable"}


@dataclass(frozen=True)
class StoredRun:
    """What a memo's wording needs of its scoring run, for an assessment read back from the
    register: the memo's look (its words) and the rules' titles and metrics."""

    look: Look
    titles: dict
    metrics: dict


@cache
def _look(lang: str) -> Look:
    return Look(lang)


@cache
def _rules(lang: str) -> tuple[dict, dict]:
    table = load_rules().table()
    return defaultdict(str, table[f"title_{lang}"].to_dict()), table["metric"].to_dict()


def stored_memo(found: Assessment, lang: str) -> Memo:
    """The memo's wording over a stored assessment's result, in ``lang``."""
    titles, metrics = _rules(lang)
    memo = Memo(StoredRun(_look(lang), titles, metrics), found.result)
    # the stored normalized record stands for the scored project a memo reads its inputs from
    memo.__dict__["project"] = pd.Series(found.record, dtype=object)
    return memo


def stage(events: list[Event]) -> str:
    """Where a trail stands: no decision yet, a decision to sign off, or signed off."""
    if not events:
        return "awaiting_decision"
    return "signed_off" if events[-1].kind == "sign_off" else "awaiting_sign_off"


# -- the decision page --------------------------------------------------------------------------


def decision_view(found: Assessment, events: list[Event], lang: str) -> dict:
    """The decision page's parts: the recommendation and its reason, the programme verdicts,
    the reasons, the model's factors, the conditions, data quality, the criteria and the trail."""
    memo = stored_memo(found, lang)
    look, decision = memo.look, found.result.get("decision") or {}
    key = decision.get("recommendation") or "none"
    reason = decision.get("decision_reason_zh" if lang == "zh" else "decision_reason")
    decisions = [e for e in events if e.kind == "decision"]
    trail = _trail(events, look)
    return {
        "mw": look.words,  # the memo's words: headings, columns
        "recommendation": key,
        "recommendation_words": look.word("recommendations", key),
        "decision_reason": reason or "",
        "project_name": shown(found.record.get("project_name")),
        "programmes": _programmes(memo),
        "pd": _pd(memo),
        "reasons": _reasons(memo, decision),
        "factors": _factors(memo),
        "conditions": [_condition(memo, c) for c in decision.get("conditions") or []],
        "needed": [memo.label(name) for name in decision.get("missing_for_decision") or []],
        "quality": _quality(memo, decision.get("data_quality") or {}),
        "criteria": _criteria(memo),
        "idle": [r["rule_id"] for r in found.result["rules"] if r["verdict"] == "not_applicable"],
        "trail": trail,
        "stage": stage(events),
        "replaced": _replaced(trail),
        "outcome": look.word("recommendations", decisions[-1].outcome) if decisions else "",
        "decision_id": decisions[-1].id if decisions else "",  # the decision a sign-off signs
        "signed_by": events[-1].actor if stage(events) == "signed_off" else "",
        "outcomes": [(o, look.word("recommendations", o)) for o in _others(found)],
        "created_at": desk.shown_time(found.created_at),
    }


def _others(found: Assessment) -> list[str]:
    return [o for o in RECOMMENDATIONS if o != found.recommendation]


def _programmes(memo: Memo) -> list[dict]:
    """Each programme as the memo's table has it: applied for, status, score, rule-score grade
    and, for credit, the rating grade and PD."""
    look, rows = memo.look, []
    for key, result in memo.record["programmes"].items():
        asked = bool(result.get("requested"))
        credit = key == "credit" and asked and result.get("pd") is not None
        rows.append(
            {
                "programme": look.word("programmes", key),
                "requested": look.word("yes_no", str(asked).lower()),
                "status": look.word("statuses", result.get("status")),
                "colour": STATUS_COLOURS.get(result.get("status"), "insufficient"),
                "score": memo.shown(result.get("score")) if asked else MISSING,
                "rule_grade": shown(
                    result.get("rule_grade", result.get("grade")) if asked else None
                ),
                "rating_grade": shown(result.get("grade")) if credit else MISSING,
                "pd": memo.shown(result.get("pd"), "fraction") if credit else MISSING,
            }
        )
    return rows


def _pd(memo: Memo) -> str:
    """The credit PD in words when one was estimated for credit applied for, else ""."""
    credit = memo.record["programmes"].get("credit") or {}
    asked = credit.get("requested") and credit.get("pd") is not None
    return memo.shown(credit["pd"], "fraction") if asked else ""


def _reasons(memo: Memo, decision: dict) -> list[dict]:
    """The criteria failed, undecided, narrowly met or doubted: what was found against which
    limit, and the clause it comes from."""
    return [
        {
            "criterion": memo.title(r["criterion"]),
            "finding": finding(memo, r),
            "source": memo.clause(r),
            "colour": r.get("verdict", "fail"),
        }
        for r in decision.get("reasons") or []
        if r["kind"] == "rule"
    ]


def _factors(memo: Memo) -> list[str]:
    """The risk model's factors in plain words, when a PD was estimated."""
    credit = memo.record["programmes"].get("credit") or {}
    return [factor(memo, r) for r in credit.get("reasons") or []] if _pd(memo) else []


def _condition(memo: Memo, condition: dict) -> dict:
    return {
        "text": condition_text(memo, condition),
        "criterion": memo.title(condition["criterion"]),
    }


def _quality(memo: Memo, quality: dict) -> dict:
    """The data-quality score, its band, its parts, what is missing and what was assumed."""
    look, score = memo.look, quality.get("score")
    parts = {k: memo.shown(v, "fraction") for k, v in (quality.get("score_parts") or {}).items()}
    return {
        "score": MISSING if score is None else f"{score}/100",
        "colour": _band(score, look.style["glance"]["quality_bands"]),
        "parts": parts,
        "verdict": look.word("quality", quality.get("verdict")) if quality else "",
        "missing": [memo.label(name) for name in quality.get("missing") or []],
        "assumed": [_assumed(memo, a) for a in quality.get("assumed") or []],
    }


def _band(score: float | None, bands: dict) -> str:
    """The memo's colour of a data-quality score: good, fair or poor."""
    if score is None:
        return "not_applicable"
    return (
        "pass" if score >= bands["good"] else "insufficient" if score >= bands["fair"] else "fail"
    )


def _assumed(memo: Memo, assumption: dict) -> str:
    phrase = memo.look.words["assumptions"].get(assumption.get("code"))
    facts = {k: memo.code(v) if isinstance(v, str) else v for k, v in assumption.items()}
    return fill(phrase, **facts) if phrase else str(assumption.get("text", ""))


def _criteria(memo: Memo) -> list[dict]:
    """Every rule that applies: criterion, programme, verdict, observed, threshold, source."""
    look, rows = memo.look, []
    for rule in (r for r in memo.record["rules"] if r["verdict"] != "not_applicable"):
        unit, colour = memo.rule_unit(rule), "doubted" if rule.get("withheld") else rule["verdict"]
        threshold = memo.shown(rule["threshold"], unit)
        rows.append(
            {
                "criterion": memo.title(rule["rule_id"]),
                "programme": look.word("programmes", rule["programme"]),
                "verdict": look.word("verdicts", colour),
                "colour": colour,
                "observed": memo.shown(rule["value"], unit),
                "threshold": f"{memo.operator(rule['operator'])} {threshold}",
                "source": memo.clause(rule),
                "confidence": look.word("confidences", rule["confidence"]),
            }
        )
    return rows


def _trail(events: list[Event], look: Look) -> list[dict]:
    """The steps of a trail; a decision that replaces a signed-off one names that sign-off
    (``replaces``)."""
    replaced = desk.replaced_sign_offs(events)
    return [_step(event, look, replaced.get(event.id)) for event in events]


def _replaced(trail: list[dict]) -> dict | None:
    """The sign-off step the latest decision replaces, if it replaces one."""
    decisions = [step for step in trail if step["kind"] == "decision"]
    return decisions[-1]["replaces"] if decisions else None


def _step(event: Event, look: Look, replaced: Event | None = None) -> dict:
    return {
        "when": desk.shown_time(event.created_at),
        "who": event.actor,
        "kind": event.kind,
        "action": event.action,
        "outcome": look.word("recommendations", event.outcome),
        "reason": event.reason,
        "comments": event.comments,
        "replaces": _step(replaced, look) if replaced is not None else None,
    }


# -- the register -------------------------------------------------------------------------------


def register_rows(engine: Engine, user: User, asked: dict, lang: str) -> dict:
    """The assessments the user may see that match what is asked (part of a project id or file
    name, a recommendation, a stage, who prepared it), newest first, at most MAX_ROWS."""
    look = _look(lang)
    mine = None if user.role == "reviewer" else user.name
    seen = register.assessments(engine, created_by=mine)
    matching = [row for row in seen if _matches(row, asked)]
    trails = register.events_of(engine, [row.id for row in matching])  # one query, not one a row
    rows = [
        _register_row(found, trails[found.id], look)
        for found in matching
        if not asked["stage"] or stage(trails[found.id]) == asked["stage"]
    ]
    return {
        "rows": rows[:MAX_ROWS],
        "total": len(rows),
        "officers": sorted({row.created_by for row in seen}),
        "recommendations": [(o, look.word("recommendations", o)) for o in RECOMMENDATIONS],
        "stages": STAGES,
    }


def _matches(found: Assessment, asked: dict) -> bool:
    text = asked["q"].strip().lower()
    return (
        (not text or text in found.project_id.lower() or text in found.file_name.lower())
        and asked["recommendation"] in ("", found.recommendation)
        and asked["officer"] in ("", found.created_by)
    )


def _register_row(found: Assessment, events: list[Event], look: Look) -> dict:
    decisions = [e for e in events if e.kind == "decision"]
    return {
        "id": found.id,
        "project_id": found.project_id,
        "file_name": found.file_name,
        "recommendation": found.recommendation,
        "recommendation_words": look.word("recommendations", found.recommendation),
        "decision": look.word("recommendations", decisions[-1].outcome) if decisions else MISSING,
        "stage": stage(events),
        "as_of": found.as_of.isoformat(),
        "created_by": found.created_by,
        "created_at": desk.shown_time(found.created_at),
    }


# -- errors -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """A refused request as a page shows it: ``said(lang)`` gives its message, what was
    expected and got, the file it is about (and its position among the files sent) and each
    input problem as one line, in the language of the page (``base.html`` asks)."""

    error: RegisterError

    def said(self, lang: str) -> dict:
        details = self.error.details
        problems = details.get("problems") if isinstance(details.get("problems"), list) else []
        return {
            "message": say(self.error.message, lang),
            "expected": _detail(details.get("expected"), lang),
            "got": _detail(details.get("got"), lang),
            "file": str(details.get("file") or ""),
            "position": str(details.get("position") or ""),
            "problems": [problem_line(p) for p in problems],
        }


def shown_error(error: RegisterError) -> Refusal:
    """A refusal as a page shows it (in the page's language: :class:`Refusal`)."""
    return Refusal(error)


def _detail(value: object, lang: str) -> str:
    """A detail of a refusal in ``lang``: a text said (:func:`say`), a list item by item."""
    if isinstance(value, list | tuple):
        return desk.words(lang)["error"]["list"].join(say(str(v), lang) for v in value)
    return "" if value is None else say(str(value), lang)


SOURCE = "en"  # the language the service raises its refusals in (and the API says them)


def say(text: str, lang: str) -> str:
    """A text of the service in ``lang``: a refusal's message, or what it expected or got.
    The English phrase it is (``messages`` of ``templates/web/en.yaml``; a ``{name}`` there
    stands for any text, itself said in ``lang`` when it is a phrase) becomes that phrase of
    ``lang``; a list of phrases (``a, b``) is said phrase by phrase; anything else (a name, a
    number, a value sent) stays as it is."""
    if lang == SOURCE or not text:
        return text
    theirs, (exact, patterns) = desk.words(lang)["messages"], _english()
    if text in exact:
        return theirs[exact[text]]
    for key, pattern in patterns:
        found = pattern.fullmatch(text)
        if found:
            parts = {
                name: theirs.get(exact.get(part), part) for name, part in found.groupdict().items()
            }
            return fill(theirs[key], **parts)
    items = text.split(", ")
    if len(items) > 1 and all(item in exact for item in items):
        return desk.words(lang)["error"]["list"].join(theirs[exact[item]] for item in items)
    return text


@cache
def _english() -> tuple[dict[str, str], list[tuple[str, re.Pattern]]]:
    """The service's English phrases: the keys of those without a ``{name}`` by their text;
    the others as patterns, those with the most words of their own first."""
    phrases = desk.words(SOURCE)["messages"]
    exact = {phrase: key for key, phrase in phrases.items() if not _PLACEHOLDER.search(phrase)}
    others = [key for key, phrase in phrases.items() if _PLACEHOLDER.search(phrase)]
    others.sort(key=lambda key: -len(_PLACEHOLDER.sub("", phrases[key])))
    return exact, [(key, _pattern(phrases[key])) for key in others]


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _pattern(phrase: str) -> re.Pattern:
    """``phrase`` as a pattern: its words as they are, each ``{name}`` any text."""
    parts = _PLACEHOLDER.split(phrase)  # words, name, words, name ...
    return re.compile(
        "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
        )
    )


def error_words(error: Exception, page_words: dict) -> tuple[dict, int]:
    """Any error of a page in words, and its HTTP status: never a traceback."""
    if isinstance(error, RegisterError):
        return shown_error(error), STATUS.get(error.code, 500)
    if isinstance(error, OperationalError):
        return {"message": page_words["unavailable"]}, 503
    if isinstance(error, DataError):  # e.g. a NUL in PostgreSQL text
        return {"message": page_words["unstorable"]}, 422
    if isinstance(error, RequestValidationError):
        return {"message": page_words["invalid"]}, 422
    if isinstance(error, HTTPException):
        message = page_words["not_found"] if error.status_code == 404 else str(error.detail)
        return {"message": message}, error.status_code
    return {"message": fill(page_words["internal"], kind=type(error).__name__)}, 500
