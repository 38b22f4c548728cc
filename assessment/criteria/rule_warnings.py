"""Warnings of ``assess rules check``: things that load but are probably mistakes.

* A pack whose rules changed against a baseline (the packaged rules, or a folder given)
  while its ``version`` did not: a changed rule set must carry a new version, or two
  assessments under "the same" version could differ.
* A rule whose title states a limit that is not its threshold (``PUE ≤ 1.30`` over a
  threshold of 1.25): the report would say one thing and decide another. Only the numbers
  written after a comparison sign count (``≤ 1.30``, ``≥ 60 %``; a per cent is read as a
  fraction too); rules with a threshold table (segment) are left out.
* A pack with rules that have no ``clause_zh`` (the clause in Chinese): the Chinese memo
  shows their English clause, marked as untranslated. One line per pack, naming the rules.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from .rules import RuleSet

_STATED = re.compile(r"(?:≤|≥|<=|>=|<|>|=)\s*(\d+(?:\.\d+)?)\s*(%?)")


def rule_warnings(rules: RuleSet, baseline: RuleSet | None) -> list[str]:
    """Every warning, one line each (none: an empty list)."""
    found = [_title_warning(rule) for rule in rules.rules]
    found += [_translation_warning(pack) for pack in rules.packs]
    if baseline is not None:
        found += _version_warnings(rules, baseline)
    return [line for line in found if line]


def _title_warning(rule) -> str:
    threshold = rule.threshold
    if rule.segment is not None or isinstance(threshold, bool):
        return ""
    if not isinstance(threshold, int | float) or not math.isfinite(threshold):
        return ""
    stated = [(float(n), sign) for n, sign in _STATED.findall(rule.title_en)]
    readings = {value / 100 if sign else value for value, sign in stated}
    readings |= {value / 100 for value, _ in stated}  # "≥ 60" over a fraction of 0.6
    if not stated or any(math.isclose(v, threshold, rel_tol=1e-9) for v in readings):
        return ""
    said = ", ".join(f"{v:g}{'%' if s else ''}" for v, s in stated)
    return (
        f"warning: {rule.rule_id}: the title states {said} but the threshold is "
        f"{threshold:g} ({rule.pack}/rules.csv): correct one of them"
    )


def _translation_warning(pack) -> str:
    untranslated = [rule.rule_id for rule in pack.rules if not rule.clause_zh]
    if not untranslated:
        return ""
    return (
        f"warning: pack {pack.id}: {len(untranslated)} rule(s) without clause_zh "
        f"({', '.join(untranslated)}; {pack.id}/rules.csv): the Chinese memo shows their "
        "English clause, marked as untranslated"
    )


def _version_warnings(rules: RuleSet, baseline: RuleSet) -> list[str]:
    before = {pack.id: pack for pack in baseline.packs}
    found = []
    for pack in rules.packs:
        old = before.get(pack.id)
        if old is None or old.version != pack.version:
            continue
        changed = _rows(pack) != _rows(old)
        if changed:
            found.append(
                f"warning: pack {pack.id}: its rules differ from the baseline's but its version "
                f"is still {pack.version}: give pack.yaml a new version"
            )
    return found


def _rows(pack) -> list[tuple]:
    """The pack's rules as comparable rows (segment tables by their values)."""
    return sorted(
        (
            rule.rule_id,
            rule.programme,
            rule.applies_when,
            rule.metric,
            rule.operator,
            repr(rule.threshold),
            rule.unit,
            "" if rule.segment is None else pd.DataFrame(rule.segment).to_csv(index=False),
            repr(rule.full_at),
            rule.severity,
            rule.weight,
            str(rule.valid_from),
            str(rule.valid_to),
            rule.source,
            rule.confidence,
        )
        for rule in pack.rules
    )
