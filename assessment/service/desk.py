"""The officer's desk: what the web service and the ``assess`` register commands do, over the
library and the register. An upload is scored as ``assess score`` scores it; the decision
trail is appended to the register; a memo is re-rendered from the stored workbook.

Four eyes: an officer decides on an assessment (accept the engine's recommendation, override
it with a reason, or request information); a reviewer who neither ran it nor decided it signs
it off. An officer sees only the assessments they ran; a reviewer sees all.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
from pathlib import Path

from sqlalchemy.engine import Engine

from .. import __version__
from .._shared.files import file_stem, write_atomically
from ..decision.decide import RECOMMENDATIONS
from ..errors import AssessmentError
from ..pipeline import Scored, score_applications
from ..reports.memo.write import write_report
from ..reports.text import records, score_json
from . import register
from .register import Assessment, RegisterError, User

ACTIONS = ("accept", "override", "request_information")
# One scoring at a time per process: the PDF library is not thread-safe. Requests wait in
# their worker threads, so the service keeps answering meanwhile.
SCORING = threading.Lock()
UPLOAD_SUFFIXES = (".xlsx", ".xlsm", ".ods", ".csv")
MAX_UPLOAD_BYTES = 20 << 20  # an application workbook; a big list goes to a screening


def assess_upload(
    engine: Engine, content: bytes, file_name: str, user: User, as_of: dt.date, lang: str = "en"
) -> Assessment:
    """Score one uploaded application (one project) and keep it in the register: an
    officer's work (a reviewer signs off, and screens)."""
    if user.role != "officer":
        raise RegisterError(
            "forbidden", "only an officer assesses", expected="officer", got=user.role
        )
    name = checked_upload(content, file_name)
    with SCORING, tempfile.TemporaryDirectory(prefix="assess-upload-") as folder:
        path = write_atomically(Path(folder) / name, lambda file: file.write_bytes(content))
        scored = _scored(path, as_of)
        project_id = str(scored.frame.index[0])
        memo = write_report(scored, project_id, Path(folder) / "memo.pdf", lang).read_bytes()
    result = score_json(scored)["projects"][0]
    result["problems"] = uploaded_problems(scored.applications.problems, path)  # the warnings
    return register.record_assessment(
        engine,
        content,
        memo,
        project_id=project_id,
        file_name=name,
        record=records(scored.applications.projects.reset_index())[0],
        result=result,
        rule_versions=scored.evaluation.rules.versions(),
        model_sha256=_model_sha256(scored),
        engine_version=__version__,
        as_of=as_of,
        lang=lang,
        recommendation=(result.get("decision") or {}).get("recommendation") or "",
        created_by=user.name,
    )


def checked_upload(content: bytes, file_name: str) -> str:
    """The upload's file name, cleaned, once its size and type are within the limits."""
    name = Path(file_name or "upload").name
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise RegisterError(
            "unsupported_type",
            "the upload is not an application workbook or list",
            expected=", ".join(UPLOAD_SUFFIXES),
            got=suffix or "no suffix",
        )
    if not content:
        raise RegisterError("invalid", "the upload is empty", expected="a workbook", got="0 bytes")
    if len(content) > MAX_UPLOAD_BYTES:
        raise RegisterError(
            "too_large",
            "the upload is too large for one application",
            expected=f"at most {MAX_UPLOAD_BYTES:,} bytes",
            got=f"{len(content):,} bytes",
        )
    return f"{file_stem(Path(name).stem)}{suffix}"


def _scored(path: Path, as_of: dt.date) -> Scored:
    """The upload scored; exactly one project, or why not."""
    try:
        scored = score_applications([path], as_of=as_of)
    except AssessmentError as error:
        what, expected, got = (
            str(text).replace(f"{path.parent}/", "")
            for text in (error.what, error.expected, error.got)
        )
        raise RegisterError("invalid", what, expected=expected, got=got) from error
    problems = scored.applications.problems
    errors = problems[problems["severity"] == "error"]
    if len(scored.frame) != 1 or len(errors):
        raise RegisterError(
            "invalid",
            "the upload must hold one application without input errors",
            expected="one project, no errors",
            got=f"{len(scored.frame)} project(s), {len(errors)} error(s)",
            problems=uploaded_problems(errors.head(50), path),
        )
    return scored


def uploaded_problems(problems, path: Path) -> list[dict]:
    """Input problems as records, the upload named by its file name, never by the service's
    temporary folder (nor in a hint)."""
    folder = str(path.parent)
    found = records(problems)
    for problem in found:
        for key, value in problem.items():
            if isinstance(value, str) and folder in value:
                problem[key] = value.replace(folder + "/", "").replace(folder, "")
    return found


def _model_sha256(scored: Scored) -> str:
    return (scored.model.card.get("sha256") or "") if scored.model is not None else ""


def visible(user: User, found: Assessment) -> bool:
    """An officer sees the assessments they ran; a reviewer sees all."""
    return user.role == "reviewer" or found.created_by == user.name


def assessment_for(engine: Engine, user: User, assessment_id: str) -> Assessment:
    found = register.assessment(engine, assessment_id)
    if not visible(user, found):  # as if it did not exist: ids are not disclosed
        raise RegisterError("not_found", "no assessment has this id", got=assessment_id)
    return found


def decide(
    engine: Engine,
    user: User,
    assessment_id: str,
    action: str,
    *,
    outcome: str = "",
    reason: str = "",
    comments: str = "",
) -> register.Event:
    """The officer's decision: accept the engine's recommendation, override it (another
    outcome, with a reason) or request information (with what is asked for)."""
    found = assessment_for(engine, user, assessment_id)
    if user.role != "officer":
        raise RegisterError(
            "forbidden", "only an officer decides", expected="officer", got=user.role
        )
    if action not in ACTIONS:
        raise RegisterError("invalid", "unknown decision", expected=", ".join(ACTIONS), got=action)
    _short(reason=reason, comments=comments)
    outcome = _outcome(found, action, outcome, reason)
    return register.add_event(
        engine,
        assessment_id,
        kind="decision",
        action=action,
        outcome=outcome,
        reason=reason.strip(),
        comments=comments.strip(),
        actor=user.name,
    )


def _outcome(found: Assessment, action: str, outcome: str, reason: str) -> str:
    if action == "accept":
        if outcome and outcome != found.recommendation:
            raise RegisterError(
                "invalid",
                "to accept is to take the engine's recommendation; another outcome "
                "is an override (with a reason)",
                expected=found.recommendation,
                got=outcome,
            )
        return found.recommendation
    if not reason.strip():
        raise RegisterError(
            "invalid",
            f"a decision to {action.replace('_', ' ')} needs a reason",
            expected="a reason",
            got="none",
        )
    if action == "request_information":
        return "incomplete"
    if outcome not in RECOMMENDATIONS or outcome == found.recommendation:
        raise RegisterError(
            "invalid",
            "an override names another outcome",
            expected=", ".join(o for o in RECOMMENDATIONS if o != found.recommendation),
            got=outcome or "none",
        )
    return outcome


def sign_off(engine: Engine, user: User, assessment_id: str, comments: str = "") -> register.Event:
    """The reviewer's sign-off of the latest decision: four eyes, never the preparer's or the
    decider's own."""
    found = assessment_for(engine, user, assessment_id)
    if user.role != "reviewer":
        raise RegisterError(
            "forbidden", "only a reviewer signs off", expected="reviewer", got=user.role
        )
    decisions = [e for e in register.events(engine, assessment_id) if e.kind == "decision"]
    if not decisions:
        raise RegisterError("conflict", "nothing to sign off: no decision yet", got="no decision")
    _short(comments=comments)
    latest = decisions[-1]
    trail = register.events(engine, assessment_id)
    if any(e.kind == "sign_off" and e.id > latest.id and e.actor == user.name for e in trail):
        raise RegisterError(
            "conflict", "this reviewer has signed off the latest decision already", got=user.name
        )
    if user.name in (found.created_by, latest.actor):
        raise RegisterError(
            "forbidden",
            "four eyes: who prepared or decided cannot sign off",
            expected="another reviewer",
            got=user.name,
        )
    return register.add_event(
        engine,
        assessment_id,
        kind="sign_off",
        action="sign_off",
        outcome=latest.outcome,
        reason="",
        comments=comments.strip(),
        actor=user.name,
    )


MAX_TEXT = 4000  # characters of a reason or a comment (a memo prints them whole)


def _short(**texts: str) -> None:
    for name, text in texts.items():
        if len(text or "") > MAX_TEXT:
            raise RegisterError(
                "invalid",
                f"the {name} is too long",
                expected=f"at most {MAX_TEXT:,} characters",
                got=f"{len(text):,} characters",
            )


def latest_sign_off(events: list) -> str | None:
    """Who signed off the latest decision (a sign-off of an earlier, replaced decision does
    not count)."""
    decisions = [e for e in events if e.kind == "decision"]
    if not decisions:
        return None
    after = [e for e in events if e.kind == "sign_off" and e.id > decisions[-1].id]
    return after[-1].actor if after else None


def trail(engine: Engine, assessment_id: str) -> list[dict]:
    """The decision trail as the memo prints it: when, who, step, outcome, reason, comments."""
    return [
        {
            "when": event.created_at.strftime("%Y-%m-%d %H:%M"),
            "who": event.actor,
            "step": event.action.replace("_", " "),
            "outcome": event.outcome.replace("_", " "),
            "reason": event.reason,
            "comments": event.comments,
        }
        for event in register.events(engine, assessment_id)
    ]


def reprint(engine: Engine, assessment_id: str, with_trail: bool = True) -> bytes:
    """The memo of a stored assessment, re-rendered from its stored workbook with the rules
    and model it was made with (refused when they changed), and its decision trail."""
    found = register.assessment(engine, assessment_id)
    content = register.blob(engine, found.file_sha256)
    with SCORING, tempfile.TemporaryDirectory(prefix="assess-reprint-") as folder:
        path = Path(folder) / found.file_name
        write_atomically(path, lambda file: file.write_bytes(content))
        scored = score_applications([path], as_of=found.as_of)
        _same_method(found, scored)
        steps = trail(engine, assessment_id) if with_trail else None
        memo = Path(folder) / "memo.pdf"
        write_report(scored, found.project_id, memo, found.lang, trail=steps)
        return memo.read_bytes()


def _same_method(found: Assessment, scored: Scored) -> None:
    now = (scored.evaluation.rules.versions(), _model_sha256(scored))
    if now != (found.rule_versions, found.model_sha256):
        raise RegisterError(
            "conflict",
            "the rules or the model changed since this assessment: it cannot be re-rendered",
            expected=f"rules {found.rule_versions}, model {found.model_sha256[:12]}",
            got=f"rules {now[0]}, model {now[1][:12]}",
        )
