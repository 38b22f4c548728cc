"""The pass rate of a rule: one definition for every output that shows one (the screening
summary, ``assess monitor``, ``assess sweep`` and ``assess rules diff``).

pass rate = pass / (pass + fail + insufficient): the share of the projects the rule applies to
that pass it. A project the rule does not apply to (``not_applicable``), one that did not ask
for the rule's programme (a REIT rule and a loan application), or one without a verdict is
left out. Beside it, over the same projects, the fail share and the insufficient share (cannot
be decided for missing data), so that the three add up to one and a fail is never confused with
missing data. The words that name and define it are the ``pass_rate`` section of
``templates/report/<lang>.yaml``; every output that shows a pass rate states that definition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .evaluate import VERDICTS

__all__ = ["APPLICABLE", "RATE_COLUMNS", "SHARES", "asked_of", "pass_rates", "verdict_counts"]

APPLICABLE = ("pass", "fail", "insufficient")  # the verdicts of a rule that applies
SHARES = {"pass": "pass_rate", "fail": "fail_share", "insufficient": "insufficient_share"}
RATE_COLUMNS = [*VERDICTS, "applicable", *SHARES.values()]


def pass_rates(
    verdicts: pd.DataFrame,
    rules: list[str] | None = None,
    asked: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Per rule (a column of ``verdicts``, all or ``rules``; the index of the result): the
    projects of each verdict, ``applicable`` (pass + fail + insufficient), the pass rate and
    the fail and insufficient shares of the applicable ones (missing when none is). With
    ``asked`` (:func:`asked_of`), a project that did not ask for the rule's programme is left
    out as one the rule does not apply to."""
    rules = list(verdicts.columns if rules is None else rules)
    asked = asked or {}
    counts = pd.DataFrame(
        [verdict_counts(verdicts[rule], asked.get(rule)) for rule in rules],
        index=pd.Index(rules, name="rule_id"),
        columns=list(VERDICTS),
        dtype="int64",
    )
    counts["applicable"] = counts[list(APPLICABLE)].sum(axis=1)
    whole = counts["applicable"].to_numpy(dtype=float)
    for verdict, share in SHARES.items():
        part = counts[verdict].to_numpy(dtype=float)
        counts[share] = np.divide(part, whole, out=np.full(len(part), np.nan), where=whole > 0)
    return counts[RATE_COLUMNS]


def asked_of(statuses: pd.DataFrame, programme_of: dict[str, str]) -> dict[str, np.ndarray]:
    """Per rule (``programme_of``: rule id -> programme), whether each project asked for the
    rule's programme: its ``<programme>_status`` is not ``not_requested`` (a frame without
    that column: every project)."""
    found = {}
    for rule_id, programme in programme_of.items():
        column = f"{programme}_status"
        if column in statuses:
            found[rule_id] = statuses[column].astype(object).ne("not_requested").to_numpy()
    return found


def verdict_counts(column: pd.Series, keep: np.ndarray | None = None) -> list[int]:
    """How many rows (those ``keep`` marks, or all) hold each of :data:`VERDICTS`, in that
    order; a categorical column's codes are counted at once (a million rows and a hundred
    rules stay fast), other values as text (a verdict read back from a workbook or CSV)."""
    if keep is not None:
        column = column[keep]
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        tally = np.bincount(codes[codes >= 0], minlength=len(column.cat.categories))
        found = dict(zip(map(str, column.cat.categories), tally.tolist(), strict=True))
    else:
        found = column.dropna().astype(str).value_counts().to_dict()
    return [int(found.get(verdict, 0)) for verdict in VERDICTS]
