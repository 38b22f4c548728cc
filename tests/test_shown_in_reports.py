"""The score text and the PDF tables show values through the one formatter."""

from __future__ import annotations

import json

import pytest
from helpers import ROOT

from assessment.cli import main
from assessment.reports.pdf.flowables import Grid
from assessment.reports.pdf.style import Look
from assessment.reports.text import score_lines

SAMPLE = str(ROOT / "sample_projects" / "01_guizhou_guian_hyperscale.xlsx")


def _rule(**given: object) -> dict:
    rule = {"rule_id": "R", "verdict": "pass", "value": 1.0, "operator": "in", "threshold": None}
    rule |= {"unit": "", "severity": "gate", "source": "S", "clause": "c", "confidence": "verified"}
    return rule | given


@pytest.fixture(scope="module")
def scored() -> dict:
    from assessment import score_applications
    from assessment.reports.text import score_json

    record = score_json(score_applications(SAMPLE, as_of="2025-06-30", model=None))["projects"][0]
    return json.loads(json.dumps(record, default=str))


def _lines(record: dict, *rules: dict) -> list[str]:
    return score_lines(record | {"rules": list(rules)})


def test_a_list_threshold_is_joined_as_everywhere_else(scored):
    lines = _lines(scored, _rule(value="general", threshold=["general", "edge", 1.0]))
    assert "R                        general in (general; edge; 1) [gate; S c]" in "\n".join(lines)


def test_rule_values_are_shown_by_the_formatter(scored):
    rules = (
        _rule(rule_id="B", value=True, operator="==", threshold=True),
        _rule(rule_id="N", value=24000, operator=">=", threshold=3000, unit="racks"),
        _rule(rule_id="F", value=1.149425287, operator=">=", threshold=1.2, unit="fraction"),
        _rule(rule_id="M", value=None, operator="<=", threshold=1.3),
    )
    text = "\n".join(_lines(scored, *rules))
    assert "B                        true == true [" in text
    assert "N                        24,000 racks >= 3,000 racks [" in text
    assert "F                        114.9% >= 120.0% [" in text  # a fraction as a percentage
    assert "M                        - <= 1.3 [" in text


def test_score_text_joins_list_thresholds_and_json_keeps_lists(capsys):
    assert main(["score", SAMPLE, "--as-of", "2025-06-30", "--all-rules", "--no-model"]) == 0
    text = capsys.readouterr().out
    assert "GC-PURPOSE               construction in (construction; retrofit; refinancing)" in text
    assert main(["score", SAMPLE, "--as-of", "2025-06-30", "--format", "json", "--no-model"]) == 0
    rules = json.loads(capsys.readouterr().out)["projects"][0]["rules"]
    purpose = next(rule for rule in rules if rule["rule_id"] == "GC-PURPOSE")
    assert purpose["threshold"] == ["construction", "retrofit", "refinancing"]


def test_pdf_table_cells_show_four_significant_digits():
    grid = Grid(["a", "b", "c", "d", "e", "f"], [60.0] * 6)
    grid.add([1234.5, 0.1234567, None, [1.0, 2.5], True, float("nan")])
    table = Grid.build(grid, Look("en"))
    cells = ["".join(map(str, cell)) for cell in table._cellvalues[1]]
    assert cells == ["1,234", "0.1235", "-", "1; 2.5", "true", "-"]


def test_a_threshold_of_several_values_is_joined_in_the_verdict_table_and_split_back():
    from assessment import score_applications
    from assessment.pipeline import _threshold

    scored = score_applications(SAMPLE, as_of="2025-06-30", model=None)
    table = scored.evaluation.table(list(scored.frame.index))
    purpose = table.loc[table["rule_id"] == "GC-PURPOSE", "threshold"].iloc[0]
    assert purpose == "construction; retrofit; refinancing"
    assert _threshold(purpose) == ["construction", "retrofit", "refinancing"]
    assert _threshold("1,234.5; 0.3; -2") == [1234.5, 0.3, -2.0]
    assert _threshold("1,5; a,b") == ["1,5", "a,b"]  # only the formatter's thousands are read
    assert _threshold(1.2) == 1.2 and _threshold("edge") == "edge"
