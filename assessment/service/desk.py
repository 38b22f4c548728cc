"""The officer's desk: what the web service and the ``assess`` register commands do, over the
library and the register. An upload is scored as ``assess score`` scores it; the decision
trail is appended to the register; a memo is re-rendered from the stored workbook.

Four eyes: an officer decides on an assessment (accept the engine's recommendation, override
it with a reason, or request information); a reviewer who neither ran it nor decided it signs
it off. A decision taken after a sign-off replaces the signed-off one only with a reason; it
needs a sign-off of its own, and the trail says which sign-off it replaces. An officer sees
only the assessments they ran; a reviewer sees all.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
import unicodedata
from functools import cache
from pathlib import Path

from sqlalchemy.engine import Engine

from .. import __version__
from .._shared.files import write_atomically
from ..decision.decide import RECOMMENDATIONS
from ..errors import AssessmentError
from ..intake.read import read_applications
from ..model.persist import default_model_path
from ..pipeline import Scored, score_applications, score_read
from ..reports.memo.write import write_report
from ..reports.pdf.style import fill, load_template
from ..reports.text import records, score_json
from . import register
from .register import Assessment, RegisterError, User

ACTIONS = ("accept", "override", "request_information")
# One scoring at a time per process: the PDF library is not thread-safe. Requests wait in
# their worker threads, so the service keeps answering meanwhile.
SCORING = threading.Lock()
UPLOAD_SUFFIXES = (".xlsx", ".xlsm", ".ods", ".csv")
MAX_UPLOAD_BYTES = 20 << 20  # an application workbook; a big list goes to a screening
# a file name's UTF-8 bytes: a file system's 255, less room for the prefix a screening gives a
# second file of the same name (80 Chinese characters, 240 Latin letters)
MAX_NAME_BYTES = 240
# the characters that make a name read otherwise than it is: controls (NUL, line breaks ...),
# lone surrogates, line and paragraph separators, and the bidirectional overrides and isolates
HIDDEN_CATEGORIES = ("Cc", "Cs", "Zl", "Zp")
HIDDEN_BIDI = ("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI")


@cache
def words(lang: str) -> dict:
    """The service's words in ``lang`` (``templates/web/<lang>.yaml``): its pages', its
    refusals' and its decision trail's."""
    return load_template(f"web/{lang}.yaml")


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


def checked_upload(content: bytes, file_name: str, position: int | None = None) -> str:
    """The upload's file name as sent, once it is a plain file name and the upload's size and
    type are within the limits. A refusal names the file (``file``) and, among several files
    sent, its ``position`` (1 for the first)."""
    where = {"file": file_name} | ({"position": position} if position else {})
    _plain_name(file_name, where)
    suffix = Path(file_name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise RegisterError(
            "unsupported_type",
            "the upload is not an application workbook or list",
            expected=", ".join(UPLOAD_SUFFIXES),
            got=suffix or "no suffix",
            **where,
        )
    if not content:
        raise RegisterError(
            "invalid", "the upload is empty", expected="a workbook", got="0 bytes", **where
        )
    if len(content) > MAX_UPLOAD_BYTES:
        raise RegisterError(
            "too_large",
            "the upload is too large for one application",
            expected=f"at most {MAX_UPLOAD_BYTES:,} bytes",
            got=f"more than {MAX_UPLOAD_BYTES:,} bytes",  # read no further
            **where,
        )
    return file_name


def _plain_name(name: str, where: dict) -> None:
    """A file name in any script, but no path (``a/b.xlsx``, ``../x.xlsx``), no hidden
    character (:data:`HIDDEN_CATEGORIES`, :data:`HIDDEN_BIDI`) and no longer than
    :data:`MAX_NAME_BYTES`."""
    if "/" in name or "\\" in name:
        raise RegisterError(
            "invalid",
            "the file name is a path, not a plain file name",
            expected="a file name without / or \\",
            got=name,
            **where,
        )
    hidden = [c for c in name if _hidden(c)]
    if hidden:
        raise RegisterError(
            "invalid",
            "the file name has control characters",
            expected="printable characters",
            got=", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(hidden)),
            **where,
        )
    size = len(name.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise RegisterError(
            "invalid",
            "the file name is too long",
            expected=f"at most {MAX_NAME_BYTES:,} bytes",
            got=f"{size:,} bytes",
            **where,
        )


def _hidden(character: str) -> bool:
    return (
        unicodedata.category(character) in HIDDEN_CATEGORIES
        or unicodedata.bidirectional(character) in HIDDEN_BIDI
    )


def _scored(path: Path, as_of: dt.date) -> Scored:
    """The upload scored; exactly one project, or why not (known once it is read: a list of
    thousands sent as one application is refused before it is scored)."""
    applications = _as_upload(path, lambda: read_applications([path], as_of=as_of))
    problems = applications.problems
    errors = problems[problems["severity"] == "error"]
    if len(applications.projects) != 1 or len(errors):
        raise RegisterError(
            "invalid",
            "the upload must hold one application without input errors",
            expected="one project, no errors",
            got=f"{len(applications.projects)} project(s), {len(errors)} error(s)",
            file=path.name,
            problems=uploaded_problems(errors.head(50), path),
        )
    model = default_model_path()  # as assess score scores
    return _as_upload(path, lambda: score_read(applications, as_of=as_of, model=model))


def _as_upload(path: Path, step):
    """``step()``; an engine error a refusal of the upload, named by its file name."""
    try:
        return step()
    except AssessmentError as error:
        what, expected, got = (
            str(text).replace(f"{path.parent}/", "")
            for text in (error.what, error.expected, error.got)
        )
        raise RegisterError(
            "invalid",
            f"the upload cannot be scored: {what}",
            expected=expected,
            got=got,
            file=path.name,
        ) from error


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
    _written(reason=reason, comments=comments)
    _replacing(register.events(engine, assessment_id), reason)
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


def _replacing(events: list[register.Event], reason: str) -> None:
    """A decision signed off is replaced only with a reason (four eyes: the new decision
    needs a new sign-off, and the trail says which sign-off it replaces)."""
    signed = latest_sign_off_event(events)
    if signed is not None and not reason.strip():
        raise RegisterError(
            "conflict",
            "the decision is signed off: a new decision replaces it and needs a reason",
            expected="a reason",
            got="none",
            signed_off_by=signed.actor,
            signed_off_at=_when(signed),
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


def sign_off(
    engine: Engine,
    user: User,
    assessment_id: str,
    comments: str = "",
    decision_id: int | None = None,
) -> register.Event:
    """The reviewer's sign-off of the latest decision: four eyes, never the preparer's or the
    decider's own. With ``decision_id`` (the decision the reviewer was shown), refused when
    another decision was taken since: nobody signs off a decision unseen."""
    found = assessment_for(engine, user, assessment_id)
    if user.role != "reviewer":
        raise RegisterError(
            "forbidden", "only a reviewer signs off", expected="reviewer", got=user.role
        )
    trail = register.events(engine, assessment_id)
    decisions = [e for e in trail if e.kind == "decision"]
    if not decisions:
        raise RegisterError("conflict", "nothing to sign off: no decision yet", got="no decision")
    _written(comments=comments)
    latest = decisions[-1]
    _shown(latest, decision_id)
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


def _shown(latest: register.Event, decision_id: int | None) -> None:
    """The decision shown to the reviewer (``decision_id``) is still the latest one."""
    if decision_id is not None and decision_id != latest.id:
        raise RegisterError(
            "conflict",
            "the decision changed since it was shown: read the latest one, then sign it off",
            expected=f"decision {decision_id}",
            got=f"decision {latest.id}",
            decided_by=latest.actor,
            decided_at=_when(latest),
        )


MAX_TEXT = 4000  # characters of a reason or a comment (a memo prints them whole)


def _written(**texts: str) -> None:
    """A reason or a comment as the trail keeps it: at most :data:`MAX_TEXT` characters and no
    hidden character (a direction override would make the trail read otherwise than it was
    written); its line breaks and tabs are kept."""
    for name, text in texts.items():
        if len(text or "") > MAX_TEXT:
            raise RegisterError(
                "invalid",
                f"the {name} is too long",
                expected=f"at most {MAX_TEXT:,} characters",
                got=f"{len(text):,} characters",
            )
        hidden = [c for c in text or "" if _hidden(c) and c not in "\n\r\t"]
        if hidden:
            raise RegisterError(
                "invalid",
                f"the {name} has control characters",
                expected="printable characters and line breaks",
                got=", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(hidden)),
            )


def latest_sign_off(events: list) -> str | None:
    """Who signed off the latest decision (a sign-off of an earlier, replaced decision does
    not count)."""
    signed = latest_sign_off_event(events)
    return signed.actor if signed is not None else None


def latest_sign_off_event(events: list) -> register.Event | None:
    """The latest sign-off of the latest decision, if it has one."""
    decisions = [e for e in events if e.kind == "decision"]
    if not decisions:
        return None
    after = [e for e in events if e.kind == "sign_off" and e.id > decisions[-1].id]
    return after[-1] if after else None


def replaced_sign_offs(events: list) -> dict[int, register.Event]:
    """Each decision taken after the decision before it was signed off, by its id: the
    (latest) sign-off it replaces, which does not cover it."""
    replaced, signed = {}, None
    for event in events:
        if event.kind == "sign_off":
            signed = event
        elif event.kind == "decision":
            if signed is not None:
                replaced[event.id] = signed
            signed = None
    return replaced


def _when(event: register.Event) -> str:
    return shown_time(event.created_at)


def shown_time(moment: dt.datetime) -> str:
    """A time as the pages, the trail and the memo show it: in UTC, saying so (SQLite gives a
    time back without its zone, PostgreSQL in its session's)."""
    return register.utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def trail(engine: Engine, assessment_id: str) -> list[dict]:
    """The decision trail as the API gives it: each step's id (a sign-off names the decision
    it signs by it), when, who, step, outcome, reason, comments; and for a decision that
    replaces a signed-off one, the sign-off it replaces (``replaces_sign_off``: who and when)
    and a ``note`` that says so."""
    events = register.events(engine, assessment_id)
    replaced, said = replaced_sign_offs(events), words("en")["trail"]
    return [{"id": e.id, **_trail_step(e, replaced.get(e.id), said)} for e in events]


def _trail_step(event: register.Event, replaced: register.Event | None, said: dict) -> dict:
    replaces = {"who": replaced.actor, "when": _when(replaced)} if replaced else None
    note = fill(said["replaces"], name=replaces["who"], when=replaces["when"]) if replaces else ""
    return {
        "when": _when(event),
        "who": event.actor,
        "step": said["steps"][event.action],
        "outcome": event.outcome.replace("_", " "),
        "reason": event.reason,
        "comments": event.comments,
        "replaces_sign_off": replaces,
        "note": note,
    }


def printed_trail(engine: Engine, assessment_id: str, lang: str) -> list[dict]:
    """The decision trail as a memo in ``lang`` prints it: each step and outcome in its words,
    and a decision that replaces a signed-off one saying so after its step."""
    outcomes = load_template(f"{lang}.yaml")["recommendations"]  # the memo's words
    events = register.events(engine, assessment_id)
    replaced, said = replaced_sign_offs(events), words(lang)["trail"]
    rows = []
    for event in events:
        row = _trail_step(event, replaced.get(event.id), said)
        step = fill(said["noted"], **row) if row["note"] else row["step"]
        rows.append(row | {"step": step, "outcome": outcomes.get(event.outcome, event.outcome)})
    return rows


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
        steps = printed_trail(engine, assessment_id, found.lang) if with_trail else None
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
