"""Whatever a decision claims is true of the project's own verdicts, over every sample and a
seeded set of generated applications: an approval has no failed or undecided gate on the floor
and the route asked for, "no condition is needed" has no condition, a decline names a decisive
gate that fails, incomplete names the fields that would decide it, and a referral names what a
person must judge. Checked from the JSON record alone (rules, programmes, decision), not from
the decision code's own inputs."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from helpers import ROOT, write_list
from test_verdicts import BASE, REIT

from assessment.cli import score_json
from assessment.decision.decide import load_routing
from assessment.pipeline import score_applications

AS_OF = dt.date(2025, 6, 30)
MODEL = ROOT / "rules" / "model" / "default_model.skops"
DECISIVE = ("verified", "verified_secondary")


def _generated(count: int = 240, seed: int = 14) -> list[dict]:
    """Applications varied around the test base case: purpose, kind, PUE, label, shares,
    cash flow and blanks, drawn from a seeded generator."""
    rng = random.Random(seed)
    rows = []
    for number in range(count):
        row = dict(REIT) if rng.random() < 0.2 else {}
        row |= {
            "project_id": f"G-{number:03d}",
            "project_kind": rng.choice(["new", "expansion", "retrofit", "operating"]),
            "financing_purpose": row.get("financing_purpose")
            or rng.choice(["construction", "retrofit", "refinancing", "acquisition"]),
            "pue": rng.choice(["", 1.12, 1.25, 1.3, 1.31, 1.45, 1.5, 1.51, 1.7]),
            "pue_design": rng.choice(["", 1.15, 1.2, 1.25, 1.3, 1.4]),
            "facility_type": rng.choice(["general", "intelligent_computing", "edge"]),
            "racks": rng.choice([48, 100, 101, 2500, 4000, 12000]),
            "green_label_requested": rng.choice(["yes", "no", ""]),
            "green_power_share": rng.choice(["", 0.1, 0.5, 0.85]),
            "top_tenant_share": rng.choice([0.3, 0.6]),
            "equity_cny": rng.choice([150_000_000, 300_000_000]),
            "major_violations_3y": rng.choice(["false", "true", ""]),
            "operating_since": rng.choice(["", "2018-03-01", "2023-09-01"]),
            "rack_utilisation": rng.choice(["", 0.5, 0.8]),
            "cluster": rng.choice(["zhangjiakou", "none"]),
            "glp_reporting": rng.choice(["true", ""]),
        }
        for year in (2025, 2026, 2027):
            row[f"operating_cash_flow_cny_{year}"] = rng.choice(["", 90_000_000, 120_000_000])
        rows.append(row)
    return rows


def _records(paths, model) -> list[dict]:
    scored = score_applications(paths, as_of=AS_OF, model=model)
    return score_json(scored)["projects"]


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> list[dict]:
    folder = tmp_path_factory.mktemp("claims")
    path = write_list(folder / "generated.csv", [BASE | row for row in _generated()])
    samples = [ROOT / "sample_projects", ROOT / "sample_projects" / "broken"]
    return _records(samples, MODEL) + _records(path, MODEL) + _records(path, None)


def _asked(record: dict, *roles: str) -> set[str]:
    routing = load_routing()
    return {
        name
        for name, result in record["programmes"].items()
        if result["requested"] and routing.roles[name] in roles
    }


def _rules(record: dict, programmes: set[str], severity: str, verdict: str) -> list[dict]:
    return [
        r
        for r in record["rules"]
        if r["programme"] in programmes and r["severity"] == severity and r["verdict"] == verdict
    ]


def _claims_hold(record: dict) -> str | None:
    """Why the decision's claim is false of the record, or None when it holds."""
    decision = record["decision"]
    decisive = _asked(record, "floor", "route")
    label = decision["green_label"]["status"]
    named = {r["criterion"] for r in decision["reasons"] if r["kind"] == "rule"}
    failed = _rules(record, decisive, "gate", "fail")
    undecided = _rules(record, decisive, "gate", "insufficient")
    flags = _rules(record, decisive, "flag", "fail")
    kind = decision["recommendation"]
    if kind in ("approve", "approve_with_conditions"):
        if failed or undecided or flags:
            return f"approved with {[r['rule_id'] for r in failed + undecided + flags]}"
        if label in ("insufficient", "unverified"):
            return f"approved with the green label {label}"
        if any(r.get("verdict") == "borderline" for r in decision["reasons"]):
            return "approved with a borderline pass"
        if (kind == "approve") != (not decision["conditions"]):
            return f"{kind} with conditions {decision['conditions']}"
    if kind == "decline":
        decisive_failed = {r["rule_id"] for r in failed if r["confidence"] in DECISIVE}
        if not decisive_failed & named and "probability" not in decision["decision_reason"]:
            return f"declined without a decisive failed gate named: {named}"
    if kind == "incomplete" and not decision["missing_for_decision"]:
        return "incomplete without the fields to correct or give"
    if kind == "refer":
        unverified = {r["rule_id"] for r in failed if r["confidence"] not in DECISIVE}
        borderline = {
            r["criterion"] for r in decision["reasons"] if r.get("verdict") == "borderline"
        }
        judged = unverified | {r["rule_id"] for r in flags} | borderline
        pd = record["programmes"]["credit"].get("pd")
        if label == "unverified":
            return None
        if not judged & named and not (pd is not None and pd > 0.05):
            return f"referred without naming what a person must judge: {named}"
    return None


def test_every_decision_claim_is_true_of_the_verdicts(records):
    assert len(records) > 400
    wrong = {r["project_id"]: why for r in records if (why := _claims_hold(r))}
    assert not wrong, list(wrong.items())[:10]


def test_the_generated_cases_reach_every_recommendation(records):
    found = {r["decision"]["recommendation"] for r in records}
    assert found == {"approve", "approve_with_conditions", "refer", "incomplete", "decline"}
