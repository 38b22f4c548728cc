"""Threshold sweep: rates recomputed independently from the indicator, monotonic as a limit
loosens, a chart that is drawn, refusals that say what is wrong, and the ``assess sweep``
command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import AS_OF, ROOT
from PIL import Image, ImageStat
from pypdf import PdfReader

from assessment.cli import main
from assessment.criteria.indicators import add_indicators
from assessment.criteria.rules import load_rules
from assessment.errors import AssessmentError
from assessment.intake.read import read_applications
from assessment.workbench.sweep import (
    TABLE_COLUMNS,
    find_rule,
    sweep_frame,
    thresholds,
    with_threshold,
    write_sweep_outputs,
)

SAMPLES = ROOT / "sample_projects"
RULE_ID = "CMP-GB40879-LIMIT"  # pue_assessed <= 1.50, not for edge sites of <= 100 racks


@pytest.fixture(scope="module")
def frame():
    applications = read_applications([SAMPLES], as_of=AS_OF)
    return add_indicators(applications.projects, applications.yearly, AS_OF)


@pytest.fixture(scope="module")
def rule_set():
    return load_rules()


@pytest.fixture(scope="module")
def sweep(frame, rule_set):
    rule = find_rule(rule_set, RULE_ID)
    return sweep_frame(frame, rule_set, rule, thresholds(1.1, 1.8, 8), AS_OF)


def _in_scope(frame) -> np.ndarray:
    """Where the rule applies, from its scope: all but edge sites of 100 racks or fewer."""
    small_edge = (frame["facility_type"] == "edge") & (frame["racks"] <= 100)
    return ~small_edge.fillna(False).to_numpy(dtype=bool)


def test_thresholds_are_evenly_spaced_and_include_both_ends():
    assert thresholds(1.1, 1.8, 8) == [1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8]


def test_pass_rate_equals_an_independent_count_from_the_indicator(frame, sweep):
    in_scope = _in_scope(frame)
    pue = frame["pue_assessed"].to_numpy(dtype=float)
    for row in sweep.table.to_dict("records"):
        expected = int((in_scope & (pue <= row["threshold"])).sum())
        assert row["applicable"] == in_scope.sum()
        assert row["pass"] == expected, row["threshold"]
        assert row["pass"] + row["fail"] + row["insufficient"] == row["applicable"]
        assert row["pass_rate"] == pytest.approx(expected / in_scope.sum(), abs=1e-6)
        shares = row["pass_rate"] + row["fail_share"] + row["insufficient_share"]
        assert shares == pytest.approx(1.0)


def test_edge_sites_out_of_scope_are_neither_eligible_nor_undecided(frame, sweep):
    """The legal floor does not apply to small edge sites: not_applicable, not undecided; the
    rest are eligible where they pass, undecided only when the PUE is missing."""
    in_scope = _in_scope(frame)
    assert 0 < (~in_scope).sum() < len(frame)
    pue = frame["pue_assessed"].to_numpy(dtype=float)
    for row in sweep.table.itertuples(index=False):
        assert row.eligible == int((in_scope & (pue <= row.threshold)).sum()), row.threshold
        assert row.undecided == int((in_scope & np.isnan(pue)).sum())
        assert row.eligible_rate == pytest.approx(row.eligible / len(frame), abs=1e-6)


def test_rates_do_not_fall_as_the_limit_loosens(sweep):
    table = sweep.table
    assert table["pass_rate"].is_monotonic_increasing
    assert table["eligible_rate"].is_monotonic_increasing
    assert table["pass_rate"].iloc[0] < table["pass_rate"].iloc[-1]
    assert table["eligible_rate"].iloc[0] < table["eligible_rate"].iloc[-1]


def test_the_rule_set_itself_is_not_changed(rule_set):
    changed = with_threshold(rule_set, RULE_ID, 1.2)
    assert find_rule(changed, RULE_ID).threshold == 1.2
    assert find_rule(rule_set, RULE_ID).threshold == 1.5


def test_chart_png_is_drawn_and_pdf_has_one_page(sweep, tmp_path):
    table, png, pdf = write_sweep_outputs(sweep, tmp_path / "pue")
    header = "threshold,applicable,pass,fail,insufficient,pass_rate,fail_share,insufficient_share"
    assert table.read_text().startswith(header)
    with Image.open(png) as image:
        extrema = ImageStat.Stat(image.convert("L")).extrema[0]
        assert image.width > 100 and extrema[0] < 128 < extrema[1]
    assert len(PdfReader(pdf).pages) == 1


def test_unknown_rule_is_refused_with_the_nearest_id(rule_set):
    with pytest.raises(AssessmentError, match="did you mean 'CMP-GB40879-LIMIT'"):
        find_rule(rule_set, "CMP-GB40879-LIMT")


@pytest.mark.parametrize("rule_id", ["REIT-ASSET-CLASS", "GRN-RACK-UTIL"])
def test_rule_without_one_numeric_threshold_is_refused(rule_set, rule_id):
    with pytest.raises(AssessmentError, match="expected a rule with one numeric threshold"):
        find_rule(rule_set, rule_id)


def test_too_few_steps_are_refused():
    with pytest.raises(AssessmentError, match="from 2 to 1000"):
        thresholds(1.1, 1.8, 1)


def test_cli_prints_the_table_and_writes_three_files(tmp_path, capsys):
    prefix = tmp_path / "out" / "pue"
    argv = ["sweep", RULE_ID, "--from", "1.1", "--to", "1.8", "--steps", "8"]
    argv += ["--portfolio", str(SAMPLES), "--as-of", "2025-06-30", "-o", str(prefix)]
    argv += ["--table-format", "xlsx"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "pass rate" in out and "eligible rate" in out and "100.0%" in out
    for suffix in (".xlsx", ".png", ".pdf"):
        assert prefix.with_name(f"pue{suffix}").stat().st_size > 0
    table = pd.read_excel(prefix.with_name("pue.xlsx"), engine="openpyxl")
    assert list(table.columns) == TABLE_COLUMNS
    assert table["threshold"].tolist() == pytest.approx([1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8])


def test_cli_refuses_an_unknown_rule_with_a_message(capsys):
    argv = ["sweep", "NO-SUCH-RULE", "--from", "1", "--to", "2", "--steps", "3"]
    assert main([*argv, "--portfolio", str(SAMPLES)]) != 0
    assert "unknown rule 'NO-SUCH-RULE'" in capsys.readouterr().err


def test_the_chart_is_worded_in_chinese_with_lang_zh(sweep, tmp_path):
    paths = write_sweep_outputs(sweep, tmp_path / "zh", "csv", "zh")
    pdf = next(path for path in paths if path.suffix == ".pdf")
    text = PdfReader(pdf).pages[0].extract_text()
    assert f"{RULE_ID} 通过率" in text and "合规底线：合格率" in text
    assert "pass rate" not in text
