"""Charts and pass rates (issue 17, the analyst's part): one pass-rate definition shared by the
summary, the monitor, the sweep and the rules diff and stated in each of their PDFs; the sweep
and monitor charts with axis titles, markers, the threshold in force and the house style; the
monitor leading with what moved out of the stable band."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pypdfium2
import pytest
from helpers import AS_OF, ROOT
from pypdf import PdfReader
from reportlab.graphics.shapes import Circle

from assessment.criteria.evaluate import evaluate_rules
from assessment.criteria.indicators import add_indicators
from assessment.criteria.pass_rate import pass_rates
from assessment.criteria.rules import load_rules
from assessment.decision.decide import programmes_as_asked
from assessment.intake.read import read_applications
from assessment.reports.pdf.style import Look
from assessment.screening.summary import summary_tables, write_summary_pdf
from assessment.workbench.monitor import monitor, rule_shifts
from assessment.workbench.monitor_report import monitor_lines, write_monitor_pdf
from assessment.workbench.rules_diff import RulesDiff, flip_summary, pass_rate_changes
from assessment.workbench.rules_diff_report import write_diff_pdf
from assessment.workbench.sweep import chart, find_rule, sweep_frame, write_sweep_outputs

RULE = "NGDC-2023-PUE"  # pue <= 1.3: on the samples some pass, some fail, some lack data
SHARES = ["pass_rate", "fail_share", "insufficient_share"]
DEFINITION = {
    "en": "Pass rate: passes over the projects the rule applies to",
    "zh": "通过率：通过的项目占规则适用项目",
}


@pytest.fixture(scope="module")
def rule_set():
    return load_rules()


@pytest.fixture(scope="module")
def frame(rule_set):
    applications = read_applications([ROOT / "sample_projects"], as_of=AS_OF)
    return add_indicators(
        applications.projects, applications.yearly, AS_OF, reference_dir=rule_set.reference_dir
    )


@pytest.fixture(scope="module")
def verdicts(frame, rule_set) -> pd.DataFrame:
    """project x rule verdicts of the samples under the packaged rules (categorical)."""
    return evaluate_rules(frame, rule_set, AS_OF).verdicts


@pytest.fixture(scope="module")
def sweep(frame, rule_set):
    rule = find_rule(rule_set, RULE)
    return sweep_frame(frame, rule_set, rule, [1.1, 1.2, 1.3, 1.4, 1.5], AS_OF)


def _results(verdicts: pd.DataFrame) -> pd.DataFrame:
    """A screening result of the verdicts: the columns the summary and the monitor read."""
    count = len(verdicts)
    head = pd.DataFrame(
        {
            "rank": np.arange(1, count + 1),
            "project_id": verdicts.index.astype(str),
            "project_name": verdicts.index.astype(str),
            "province": "guizhou",
            "hub": "guizhou",
            "recommendation": "refer",
            "eligible": True,
            "score": 50.0,
            "pd": 0.02,
            "grade": "B",
            "decision_reason": "",
        },
        index=verdicts.index,
    )
    return pd.concat([head, verdicts.astype(str)], axis=1).reset_index(drop=True)


def _pdf_text(path) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(path).pages)


def _image(pdf, page: int = 0) -> np.ndarray:
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        return np.asarray(document[page].render(scale=2).to_pil().convert("RGB")).astype(int)
    finally:
        document.close()


def _near(image: np.ndarray, hex_colour: str, tolerance: int = 12) -> np.ndarray:
    rgb = [int(hex_colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)]
    return np.all(np.abs(image - rgb) <= tolerance, axis=2)


# One pass rate -------------------------------------------------------------------------------


def test_one_pass_rate_is_counted_over_the_projects_the_rule_applies_to():
    verdicts = pd.DataFrame(
        {
            "A": ["pass", "pass", "fail", "insufficient", "not_applicable", None],
            "B": ["not_applicable"] * 6,
        }
    )
    rates = pass_rates(verdicts)
    assert rates.loc["A", ["pass", "fail", "insufficient", "applicable"]].tolist() == [2, 1, 1, 4]
    assert rates.loc["A", SHARES].tolist() == [0.5, 0.25, 0.25]
    assert rates.loc["B", "applicable"] == 0 and rates.loc["B", SHARES].isna().all()
    as_categories = verdicts.astype(
        pd.CategoricalDtype(["not_applicable", "insufficient", "pass", "fail"])
    )
    pd.testing.assert_frame_equal(pass_rates(as_categories), rates)


def test_summary_monitor_sweep_and_rules_diff_give_the_same_pass_rate(
    verdicts, sweep, frame, rule_set
):
    """The same verdicts give the same pass rate, fail and insufficient shares through the
    summary, the monitor, the sweep (at the rule's threshold in force) and the rules diff;
    and that is the count made here: passes over pass, fail and insufficient, among the
    projects that asked for the rule's programme (the others are left out, as the sweep and
    the rules diff leave them out of the engine's verdicts)."""
    evaluation = evaluate_rules(frame, rule_set, AS_OF)
    programme = find_rule(rule_set, RULE).programme
    asked = programmes_as_asked(evaluation)[f"{programme}_status"].ne("not_requested")
    verdicts = verdicts.astype(object).where(asked, "not_applicable", axis=0)
    column = verdicts[RULE].astype(str)
    counts = {v: int((column == v).sum()) for v in ("pass", "fail", "insufficient")}
    assert all(counts.values())  # the rule passes, fails and lacks data on the samples
    expected = [counts[v] / sum(counts.values()) for v in ("pass", "fail", "insufficient")]

    results = _results(verdicts)
    empty = pd.DataFrame({"reasons": pd.Series(dtype=str)})
    summary = summary_tables(results, empty, rule_ids=[RULE], titles={})["Pass rate per rule"]
    shifts = rule_shifts(results, results).set_index("rule_id").loc[RULE]
    at_threshold = sweep.table.set_index("threshold").loc[1.3]
    scored = SimpleNamespace(evaluation=SimpleNamespace(verdicts=verdicts))
    diff = pass_rate_changes(scored, scored).set_index("rule_id").loc[RULE]

    assert summary.iloc[0][SHARES].tolist() == pytest.approx(expected)
    assert [shifts[f"current_{share}"] for share in SHARES] == pytest.approx(expected)
    assert at_threshold[SHARES].tolist() == pytest.approx(expected)
    assert [diff[f"new_{share}"] for share in SHARES] == pytest.approx(expected)
    assert shifts["current_applicable"] == at_threshold["applicable"] == sum(counts.values())


def _monitoring(projects: int = 20, failing: int = 5, pd_scale: float = 4.0):
    """A hand-made comparison of ``projects``: RULE-A fails for 10 % of them in the baseline
    and for ``failing`` more now; RULE-B the same on both sides; ``pd`` scaled by
    ``pd_scale``."""
    fail = projects // 10
    base = ["pass"] * (projects - fail) + ["fail"] * fail
    now = ["pass"] * (projects - fail - failing) + ["fail"] * (fail + failing)
    half = projects // 2
    frames = [
        pd.DataFrame(
            {
                "project_id": [f"P{i}" for i in range(projects)],
                "recommendation": ["refer"] * projects,
                "decision_reason": "",
                "RULE-A": verdicts,
                "RULE-B": ["pass"] * half + ["insufficient"] * (projects - half),
                "pd": np.linspace(0.01, 0.2, projects) * scale,
            }
        )
        for verdicts, scale in ((base, 1.0), (now, pd_scale))
    ]
    return monitor(*frames)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_definition_is_stated_in_every_pdf_that_shows_a_pass_rate(
    verdicts, sweep, tmp_path, lang
):
    results = _results(verdicts)
    empty = pd.DataFrame({"reasons": pd.Series(dtype=str)})
    tables = summary_tables(results, empty, rule_ids=[RULE], titles={})
    meta = {"as_of": "2025-06-30", "rule_versions": {}, "model": None, "engine": "0"}
    meta |= {"inputs": 1, "projects_scored": len(results), "rejected": 0}
    pdfs = [
        write_summary_pdf(results, empty, tables, tmp_path / "s.pdf", lang=lang, meta=meta),
        write_monitor_pdf(_monitoring(), tmp_path / "m.pdf", lang),
        write_sweep_outputs(sweep, tmp_path / "sweep", lang=lang)[2],
    ]
    scored = SimpleNamespace(evaluation=SimpleNamespace(verdicts=verdicts))
    moved = SimpleNamespace(evaluation=SimpleNamespace(verdicts=verdicts.replace("fail", "pass")))
    rates = pass_rate_changes(scored, moved)
    flips = pd.DataFrame(columns=["project_id", "outcome", "old", "new", "rules"])
    diff = RulesDiff(
        pd.DataFrame(), flips, flip_summary(flips), {"old": {}, "new": {}}, rates=rates
    )
    pdfs.append(write_diff_pdf(diff, tmp_path / "d.pdf", as_of="2025-06-30", lang=lang))
    for pdf in pdfs:
        text = _pdf_text(pdf)
        assert DEFINITION[lang] in text, pdf.name
        assert text.count(DEFINITION[lang]) == 1, pdf.name  # stated once


# The sweep chart -----------------------------------------------------------------------------


def test_the_sweep_chart_has_axis_titles_a_marker_at_each_step_and_the_threshold(sweep, tmp_path):
    _, png, pdf = write_sweep_outputs(sweep, tmp_path / "pue")
    text = _pdf_text(pdf)
    assert "threshold of NGDC-2023-PUE: Measured annual PUE" in text  # the x axis: its label
    assert "share of projects (%)" in text  # the y axis, turned
    assert "in force: 1.3" in text and "cannot be decided" in text
    dots = [shape for shape in chart(sweep).contents if isinstance(shape, Circle)]
    assert len(dots) == 2 * len(sweep.table) + 2  # two lines' steps and their legend keys
    image = _image(pdf)
    red = _near(image, Look("en").style["colours"]["marker"])
    column = red.sum(axis=0)
    assert column.max() > 0.3 * image.shape[0]  # a tall (dashed) line in the marker colour
    xs = np.flatnonzero(column > 0.3 * image.shape[0])
    ticks = np.flatnonzero(_near(image, "#1A1A1A", 40).sum(axis=0) > 0)
    assert ticks.min() < xs.min() < xs.max() < ticks.max()
    for key in ("pass", "fail", "insufficient", "line_pass", "line"):
        assert _near(image, Look("en").style["colours"][key], 3).sum() > 50, key


def test_the_sweep_colours_come_from_style_yaml(sweep, tmp_path):
    """A bank's style.yaml restyles the chart: no colour is fixed in the code."""
    style = (ROOT / "templates" / "report" / "style.yaml").read_text(encoding="utf-8")
    changed = style.replace('marker: "#C00000"', 'marker: "#00A0A0"')
    changed = changed.replace('line: "#1F3864"', 'line: "#A000A0"')
    assert changed.count("#00A0A0") == 1 and changed.count("#A000A0") == 1
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "style.yaml").write_text(changed, encoding="utf-8")
    _, _, pdf = write_sweep_outputs(sweep, tmp_path / "styled", templates=tmp_path)
    image = _image(pdf)
    assert _near(image, "#00A0A0", 3).sum() > 100 and _near(image, "#A000A0", 3).sum() > 100
    assert _near(image, "#C00000", 3).sum() == 0 and _near(image, "#1F3864", 3).sum() == 0
    source = (ROOT / "assessment" / "workbench" / "sweep.py").read_text(encoding="utf-8")
    assert not re.search(r"#[0-9A-Fa-f]{6}|HexColor|reportlab\.lib\.colors", source)


# The monitor ---------------------------------------------------------------------------------


def test_the_monitor_pdf_lists_the_moved_bands_first_worst_first(tmp_path):
    found = _monitoring()  # RULE-A 90 % -> 65 %: act; pd moved
    moved = found.moved()
    assert moved.iloc[0][["table", "name", "measure", "band"]].tolist() == [
        "rules",
        "RULE-A",
        "pass_rate",
        "act",
    ]
    assert moved.iloc[0]["shift"] == pytest.approx(-25.0)
    assert set(moved["band"]) <= {"act", "watch"} and "RULE-B" not in set(moved["name"])
    first = " ".join(
        PdfReader(write_monitor_pdf(found, tmp_path / "m.pdf")).pages[0].extract_text().split()
    )
    heading = first.index("Moved out of the stable band, worst first")
    row = first.index("RULE-A: pass rate 90.0% -> 65.0% -25.0 pp")
    assert heading < row < first.index("baseline:") < first.index("Population stability")
    assert first.index("Monitoring") < heading
    lines = monitor_lines(found)
    assert lines[0] == "Moved out of the stable band, worst first"
    assert lines[1].split()[:2] == ["band", "kind"] and "RULE-A: pass rate" in lines[2]


def test_the_monitor_charts_have_axis_titles_and_the_band_limits(tmp_path):
    pdf = write_monitor_pdf(_monitoring(), tmp_path / "m.pdf")
    text = _pdf_text(pdf)
    assert "population stability index (PSI)" in text
    assert "largest shift of the rule's pass rate, fail or cannot-be-decided share" in text
    assert "watch from 5" in text and "act from 10" in text  # the shift limits
    assert "watch from 0.1" in text and "act from 0.25" in text  # the PSI limits
    assert "RULE-A (pass rate -25.0 pp)" in text
    marker = Look("en").style["colours"]["marker"]
    assert any(_near(_image(pdf, page), marker).sum() > 100 for page in range(2))


def test_a_small_shift_says_nothing_moved_first(tmp_path):
    found = _monitoring(projects=100, failing=1, pd_scale=1.0)  # RULE-A -1 pp: stable
    assert found.moved().empty and not found.unchanged()
    assert monitor_lines(found)[0].startswith("Nothing moved out of the stable band")
    first = PdfReader(write_monitor_pdf(found, tmp_path / "m.pdf")).pages[0].extract_text()
    assert first.index("Nothing moved") < first.index("baseline:")


def test_a_project_that_did_not_ask_for_a_programme_is_left_out_of_its_pass_rates():
    """REIT-TITLE-CLEAR on a loan application is undecided (no title fields asked): the
    summary's and the monitor's pass rate leave that project out, not count it as yellow."""
    verdicts = pd.DataFrame(
        {"REIT-TITLE-CLEAR": ["pass", "insufficient", "insufficient"]}, index=["R", "L1", "L2"]
    )
    results = _results(verdicts).assign(reit_status=["eligible", "not_requested", "not_requested"])
    empty = pd.DataFrame({"reasons": pd.Series(dtype=str)})
    programmes = {"REIT-TITLE-CLEAR": "reit"}
    table = summary_tables(
        results, empty, rule_ids=["REIT-TITLE-CLEAR"], titles={}, programmes=programmes
    )["Pass rate per rule"].iloc[0]
    assert table["pass_rate"] == 1.0 and table["insufficient_share"] == 0.0
    shifts = rule_shifts(results, results).set_index("rule_id").loc["REIT-TITLE-CLEAR"]
    assert shifts["current_applicable"] == 1 and shifts["current_pass_rate"] == 1.0
