"""Which programmes an application asks for: its financing purpose and its green-label request,
read through the routing tables of ``rules/decision`` (``purpose_programmes.csv`` and
``programme_roles.csv``, data; ``rules/decision/README.md`` says what they mean).

It lives with the intake because the intake already needs it: a value that only a programme
asks for is checked where the application asks for that programme (``checks.csv``, column
``programme``: a loan amount of 0 is a data problem on a loan application, not on a REIT
issuance). The decision judges each application on the same programmes
(:mod:`assessment.decision.decide` imports everything from here).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .._shared.resources import data_dir
from .._shared.tables import reference_rows
from ..errors import RuleError
from .dictionary import PROGRAMMES

ROLES = ("floor", "route", "label", "informative")
ROLE_COLUMNS = ("programme", "role")


@dataclass(frozen=True)
class Routing:
    """Which programmes an application is judged on (``rules/decision``, data): per financing
    purpose the ``programmes`` always judged and the ``labels`` judged when a green label is
    requested; each programme's ``role`` (floor, route, label, informative)."""

    programmes: dict[str, tuple[str, ...]]
    labels: dict[str, tuple[str, ...]]
    roles: dict[str, str]

    def of_role(self, *roles: str) -> tuple[str, ...]:
        return tuple(p for p in PROGRAMMES if self.roles.get(p) in roles)


@lru_cache(maxsize=4)
def load_routing(folder: str | Path | None = None) -> Routing:
    """The purpose and role tables of ``folder`` (default: the packaged ``rules/decision``;
    a table the folder lacks is the packaged one), validated."""
    purposes = reference_rows(
        decision_file(folder, "purpose_programmes.csv"), ("financing_purpose", "programmes")
    )
    roles_path = decision_file(folder, "programme_roles.csv")
    roles = {row["programme"]: row["role"] for row in reference_rows(roles_path, ROLE_COLUMNS)}
    routing = Routing(
        {row["financing_purpose"]: _split(row["programmes"]) for row in purposes},
        {row["financing_purpose"]: _split(row.get("label_programmes")) for row in purposes},
        roles,
    )
    _check_routing(routing, roles_path.parent)
    return routing


def decision_file(folder: str | Path | None, name: str) -> Path:
    """``folder / name`` when it exists, else the packaged ``rules/decision/<name>``."""
    own = Path(folder) / name if folder else None
    return own if own is not None and own.is_file() else data_dir("rules") / "decision" / name


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(";") if part.strip())


def _check_routing(routing: Routing, folder: Path) -> None:
    problems = [
        {
            "file": str(folder / "programme_roles.csv"),
            "row": "",
            "column": "role",
            "value": f"{programme}: {routing.roles.get(programme)}",
            "message": "every programme needs a known role",
            "hint": ", ".join(ROLES),
        }
        for programme in PROGRAMMES
        if routing.roles.get(programme) not in ROLES
    ]
    named = {p for ps in (*routing.programmes.values(), *routing.labels.values()) for p in ps}
    problems += [
        {
            "file": str(folder / "purpose_programmes.csv"),
            "row": "",
            "column": "programmes",
            "value": name,
            "message": "unknown programme",
            "hint": ", ".join(PROGRAMMES),
        }
        for name in sorted(named - set(PROGRAMMES))
    ]
    if problems:
        raise RuleError.from_rows(problems)


def requested_programmes(
    frame: pd.DataFrame, routing: Routing | None = None
) -> dict[str, np.ndarray]:
    """Per programme, the projects that ask for it: the purpose's programmes, plus its label
    programmes where ``green_label_requested`` is yes. A missing or unknown purpose asks for
    the floor only (the decision then asks for the purpose). Vectorised: one lookup per
    distinct purpose. ``routing``: the tables to read (default: the packaged ones)."""
    routing = routing or load_routing()
    purposes = column_or_blank(frame, "financing_purpose").to_numpy(dtype=object, na_value=None)
    codes, purposes = pd.factorize(purposes, use_na_sentinel=True)
    label = column_or_blank(frame, "green_label_requested").to_numpy(dtype=bool, na_value=False)
    floor = routing.of_role("floor")
    found = {}
    for programme in PROGRAMMES:
        wanted = [programme in routing.programmes.get(p, floor) for p in purposes]
        labelled = [programme in routing.labels.get(p, ()) for p in purposes]
        found[programme] = _per_row(codes, wanted, programme in floor) | (
            label & _per_row(codes, labelled, False)
        )
    return found


def _per_row(codes: np.ndarray, per_code: list[bool], missing: bool) -> np.ndarray:
    """``per_code`` (one flag per distinct purpose) spread over the rows (``codes``, -1 for a
    blank); ``missing`` for a blank."""
    table = np.array([*per_code, missing], dtype=bool)
    return table[np.where(codes < 0, len(per_code), codes)]


def column_or_blank(frame: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` of ``frame``, or a blank one where the frame lacks it (a candidate list
    without the column)."""
    return frame[name] if name in frame.columns else pd.Series(pd.NA, index=frame.index)
