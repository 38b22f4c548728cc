"""`assess monitor`: rule pass-rate shifts and population stability between two screenings.

The sample edge sites (a GBK candidate list of 20 projects) are screened twice, once as they
are and once with five projects' equity cut to 10 % of investment and their PUE raised to
1.65; every project passes CR-EQUITY-MIN (equity >= 20 %) before, so its pass rate falls from
20/20 to 15/20. The full sample portfolio is screened once and compared with itself.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import openpyxl
import pandas as pd
import pypdfium2
import pytest
from helpers import AS_OF, ROOT
from pypdf import PdfReader

from assessment.cli import main
from assessment.criteria.rules import load_rules
from assessment.errors import AssessmentError, InputError
from assessment.model.drift import NOT_COMPARED, band, banded, load_bands, psi
from assessment.model.persist import default_model_path
from assessment.screening.batch import screen_inputs, write_screening_outputs
from assessment.screening.records import Settings
from assessment.screening.shortlist import write_full_results
from assessment.workbench.monitor import (
    monitor,
    monitor_batch,
    monitor_outputs,
    read_screening,
    rule_shifts,
    two_proportion_z,
)
from assessment.workbench.monitor_report import write_monitor_pdf, write_monitor_workbook

EDGE_SITES = ROOT / "sample_projects" / "candidates" / "edge_sites_gbk.csv"
CHANGED = ["ES-001", "ES-002", "ES-003", "ES-004", "ES-005"]
RULE = "CR-EQUITY-MIN"


def _screen(inputs: list, folder):
    settings = Settings(as_of=AS_OF, model=str(default_model_path()))
    screening = screen_inputs([str(i) for i in inputs], settings, jobs=1)
    write_screening_outputs(screening, folder, settings)
    return screening.results


def _changed_edge_sites(path) -> None:
    """The edge sites with equity 10 % of investment and PUE 1.65 for :data:`CHANGED`."""
    with open(EDGE_SITES, encoding="gbk", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    at = {name: header.index(name) for name in ("项目编号", "总投资(万元)", "资本金(万元)")}
    for row in rows[1:]:
        if row[at["项目编号"]] in CHANGED:
            row[at["资本金(万元)"]] = f"{float(row[at['总投资(万元)']]) * 0.1:.1f}"
            measured = header.index("年均PUE")  # new builds have none: left blank
            row[measured] = "1.65" if row[measured] else ""
            row[header.index("设计PUE")] = "1.65"
    with open(path, "w", encoding="gbk", newline="") as handle:
        csv.writer(handle).writerows(rows)


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    """Baseline and current screening folders of the edge sites, and their results."""
    root = tmp_path_factory.mktemp("edge")
    changed = root / "edge_sites_changed.csv"
    _changed_edge_sites(changed)
    return {
        "baseline": root / "baseline",
        "current": root / "current",
        "before": _screen([EDGE_SITES], root / "baseline"),
        "after": _screen([changed], root / "current"),
    }


@pytest.fixture(scope="module")
def edge_found(edge):
    """The baseline and current edge-site screenings compared once (the tests only read it)."""
    return monitor_outputs(edge["baseline"], edge["current"])


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """The sample portfolio screened once: the folder (xlsx) and a copy as Parquet and CSV."""
    root = tmp_path_factory.mktemp("samples")
    results = _screen([ROOT / "sample_projects"], root / "out")
    write_full_results(results, root / "full")
    return root, results


def sheet_rules(root) -> list[str]:
    """The rule columns of the Screening sheet: the gates."""
    sheet = read_screening(root / "out")
    return [c for c in sheet.columns if c in {r.rule_id for r in load_rules().rules}]


def _row(table: pd.DataFrame, key: str, value: str) -> pd.Series:
    return table.set_index(key).loc[value]


# Identical inputs ------------------------------------------------------------------------


def test_identical_screenings_are_stable_everywhere(samples):
    root, results = samples
    found = monitor_outputs(root / "out", root / "full")
    assert found.sources["baseline"].startswith("out/screening.xlsx (sha256 ")  # as given
    assert found.sources["current"].startswith("full/screening.parquet")  # preferred
    assert len(results) == 256
    compared = found.rules[found.rules["band"] != NOT_COMPARED]
    applies = ["pass", "fail", "insufficient"]
    programme = {rule.rule_id: rule.programme for rule in load_rules().rules}

    def asked(rule_id: str) -> pd.Series:  # the projects that asked for the rule's programme
        return results[f"{programme[rule_id]}_status"].astype(str) != "not_requested"

    decided = [r for r in sheet_rules(root) if (results[r].isin(applies) & asked(r)).any()]
    assert set(compared["rule_id"]) == set(decided)  # the gates that apply to some project
    assert len(compared) == len(decided) > 20 and (compared["band"] == "stable").all()
    assert (compared["shift_pp"] == 0).all() and (compared["z"] == 0).all()
    assert (found.fields["psi"] == 0).all() and (found.fields["band"] == "stable").all()
    assert len(found.fields) == 13
    assert (found.population["shift_pp"].iloc[1:] == 0).all()
    assert found.worst_band() == "stable"
    # The sheet holds the gate rules only; the full result every rule: listed, not dropped.
    only = found.rules[found.rules["note"] == "only in the current"]
    sheet = read_screening(root / "out")
    assert set(only["rule_id"]) == set(results.columns) - set(sheet.columns)
    assert (only["band"] == NOT_COMPARED).all() and len(only) == 52
    assert set(only["rule_id"]) == {r.rule_id for r in load_rules().rules if r.severity != "gate"}
    assert {"GRN-RACK-UTIL", "CR-TENOR-MAX"} <= set(only["rule_id"])


def test_key_indicators_are_screening_columns_before_the_reasons(samples):
    _, results = samples
    columns = list(results.columns)
    keys = [
        "pue_assessed",
        "green_power_share",
        "it_load_mw",
        "dscr_forecast_min",
        "operating_years",
    ]
    assert columns[columns.index("credit_grade") + 1 : columns.index("reasons")] == keys
    assert results["pue_assessed"].between(1.1, 1.6).all()
    assert results["dscr_forecast_min"].notna().sum() > 200  # the candidates' forecasts


# A constructed shift ---------------------------------------------------------------------


def test_equity_cut_moves_the_rule_by_the_computed_shift(edge, edge_found):
    before, after = edge["before"], edge["after"]
    decided = int(before[RULE].isin(["pass", "fail"]).sum())
    passed = int((before[RULE] == "pass").sum())
    assert (decided, passed) == (20, 20)
    assert sorted(after.loc[after[RULE] == "fail", "project_id"]) == CHANGED
    expected_now = (passed - len(CHANGED)) / decided
    found = edge_found
    row = _row(found.rules, "rule_id", RULE)
    assert row["baseline_pass_rate"] == 1.0
    assert row["current_pass_rate"] == pytest.approx(expected_now) == 0.75
    assert row["shift_pp"] == pytest.approx(-25.0)
    pooled = (2 * passed - len(CHANGED)) / (2 * decided)
    z = (expected_now - 1.0) / np.sqrt(pooled * (1 - pooled) * (2 / decided))
    assert row["z"] == pytest.approx(z) and round(z, 4) == -2.3905
    assert row["band"] == "act"
    assert found.rules.iloc[0]["rule_id"] == RULE  # worst first
    assert found.worst_band() == "act"


def test_psi_equals_prediction_psi_on_shares_computed_here(edge):
    before = edge["before"]["pue_assessed"].to_numpy(dtype=float)
    after = edge["after"]["pue_assessed"].to_numpy(dtype=float)
    edges = np.unique(np.quantile(before[~np.isnan(before)], np.linspace(0, 1, 11)))
    cuts = [-np.inf, *edges[1:-1], np.inf]

    def shares(values):
        bins = pd.cut(values, cuts, right=False, labels=False)
        counts = np.bincount(
            np.nan_to_num(bins, nan=len(cuts) - 1).astype(int), minlength=len(cuts)
        )
        return counts / len(values)

    found = monitor(edge["before"], edge["after"]).fields
    row = _row(found, "field", "pue_assessed")
    expected = psi(shares(before), shares(after))
    assert row["psi"] == pytest.approx(expected, abs=1e-6)
    assert expected > 0.25 and row["band"] == "act"
    # the five at 1.65 join the top bin
    assert row["largest_bin"].startswith(">= ")
    assert (row["largest_baseline_share"], row["largest_current_share"]) == (0.1, 0.35)
    levels = sorted(set(edge["before"]["recommendation"]) | set(edge["after"]["recommendation"]))
    counts = [edge[s]["recommendation"].value_counts(normalize=True) for s in ("before", "after")]
    by_level = [[c.get(level, 0.0) for level in levels] for c in counts]
    assert _row(found, "field", "recommendation")["psi"] == pytest.approx(psi(*by_level), abs=1e-6)


def test_a_field_missing_on_one_side_is_listed_not_dropped(edge):
    current = edge["after"].drop(columns=["pue_assessed", "grade"])
    fields = monitor(edge["before"], current).fields
    missing = fields[fields["band"] == NOT_COMPARED]
    assert sorted(missing["field"]) == ["grade", "pue_assessed"]
    assert set(missing["note"]) == {"no column in the current"}
    assert list(fields["field"].tail(2)) == list(missing["field"])  # listed last


def test_shift_bands_come_from_the_csv_limits():
    limits = load_bands("pass_rate_shift_pp")
    assert list(limits["band"]) == ["stable", "watch", "act"]
    bands = banded([0.0, -4.99, 5.0, 9.99, -10.0, 40.0, np.nan], "pass_rate_shift_pp", limits)
    assert list(bands) == ["stable", "stable", "watch", "watch", "act", "act", NOT_COMPARED]


def test_psi_bands_come_from_the_same_csv():
    assert list(load_bands("psi")["below"]) == [0.1, 0.25, np.inf]
    assert [band(v) for v in (0.0, 0.0999, 0.1, 0.2499, 0.25, 3.0)] == [
        "stable",
        "stable",
        "watch",
        "watch",
        "act",
        "act",
    ]


def test_bad_bands_file_is_refused_with_what_is_expected(tmp_path):
    path = tmp_path / "bands.csv"
    path.write_text("measure,band,below\npass_rate_shift_pp,stable,10\npass_rate_shift_pp,act,5\n")
    with pytest.raises(AssessmentError, match="rows stable, watch, act"):
        load_bands("pass_rate_shift_pp", str(path))


def test_two_proportion_z_on_known_counts():
    z = two_proportion_z([20, 0, 3, 5], [20, 10, 0, 10], [15, 0, 2, 5], [20, 10, 4, 10])
    assert z[0] == pytest.approx(-2.390457, abs=1e-6)
    assert z[1] == 0.0 and np.isnan(z[2]) and z[3] == 0.0


# Reading ---------------------------------------------------------------------------------


def test_application_workbook_is_not_a_screening():
    workbook = ROOT / "sample_projects" / "01_guizhou_guian_hyperscale.xlsx"
    with pytest.raises(InputError) as caught:
        read_screening(workbook)
    error = caught.value
    assert "sheet Screening" in error.where and "Screening" in error.got and error.hint


def test_csv_without_screening_columns_is_refused(tmp_path):
    path = tmp_path / "screening.csv"
    pd.DataFrame({"project_id": ["A"], "pue": [1.3]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="recommendation, decision_reason missing"):
        read_screening(tmp_path)
    with pytest.raises(InputError, match="not a screening output folder"):
        read_screening(ROOT / "sample_projects")


# The command -----------------------------------------------------------------------------


def test_cli_prints_worst_first_and_writes_workbook_and_pdf(edge, tmp_path, capsys):
    book, pdf = tmp_path / "monitor.xlsx", tmp_path / "monitor.pdf"
    args = ["monitor", str(edge["baseline"]), str(edge["current"]), "-o", str(book), "-o", str(pdf)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "worst band: act" in out and f"wrote {book}" in out and f"wrote {pdf}" in out
    rules_part = out.split("Rules:")[1].splitlines()
    assert rules_part[2].split()[:5] == [RULE, "100.0%", "75.0%", "-25.0", "-2.39"]
    sheets = openpyxl.load_workbook(book)
    assert sheets.sheetnames == ["Summary", "Rules", "Fields"]
    rules = list(sheets["Rules"].iter_rows(values_only=True))
    header, first = rules[0], rules[1]
    assert first[0] == RULE and first[header.index("shift_pp")] == pytest.approx(-25.0)
    band_cell = sheets["Rules"].cell(2, header.index("band") + 1)
    assert band_cell.value == "act" and band_cell.fill.start_color.rgb.endswith("FFC7CE")
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert (
        "Monitoring" in text and f"{RULE} (pass rate -25.0 pp)" in text and "PUE assessed" in text
    )
    image = np.asarray(pypdfium2.PdfDocument(pdf)[0].render(scale=1).to_pil().convert("RGB"))
    act_red = np.all(np.abs(image.astype(int) - [255, 199, 206]) <= 3, axis=2)
    assert act_red.sum() > 50  # the act bars are drawn in the act colour


def test_cli_json_and_clear_error(edge, capsys):
    assert main(["monitor", str(edge["baseline"]), str(edge["current"]), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["worst_band"] == "act" and data["rules"][0]["rule_id"] == RULE
    assert data["rules"][0]["shift_pp"] == pytest.approx(-25.0)
    workbook = ROOT / "sample_projects" / "01_guizhou_guian_hyperscale.xlsx"
    assert main(["monitor", str(edge["baseline"]), str(workbook)]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "cannot read screening results" in error[0] and "hint" in error[0]


def test_pdf_is_the_same_bytes_for_the_same_comparison(edge_found, tmp_path):
    found = edge_found
    first = write_monitor_pdf(found, tmp_path / "a" / "monitor.pdf").read_bytes()
    assert write_monitor_pdf(found, tmp_path / "b.pdf").read_bytes() == first
    book = openpyxl.load_workbook(write_monitor_workbook(found, tmp_path / "m.xlsx"))
    rows = {row[0].value: row for row in book["Summary"].iter_rows(min_row=2)}
    assert rows["share decline"][1].number_format == "0.0%"
    assert rows["rules act"][2].value == 1 and rows["projects"][2].value == 20


def _verdicts(verdicts: list[str]) -> pd.DataFrame:
    count = len(verdicts)
    return pd.DataFrame(
        {
            "project_id": [f"P{i}" for i in range(count)],
            "recommendation": ["refer"] * count,
            "decision_reason": [""] * count,
            "RULE-A": verdicts,
        }
    )


def test_data_going_missing_shows_apart_from_fail_and_bands_the_rule():
    """The one pass rate (over the projects the rule applies to) falls as data goes missing;
    the fail and insufficient shares, over the same projects, show why."""
    baseline = _verdicts(["pass"] * 18 + ["fail"] * 2 + ["not_applicable"] * 5)
    current = _verdicts(["pass"] * 9 + ["fail"] + ["insufficient"] * 10 + ["not_applicable"] * 5)
    (row,) = rule_shifts(baseline, current).to_dict("records")
    assert (row["baseline_applicable"], row["current_applicable"]) == (20, 20)
    assert (row["baseline_pass_rate"], row["current_pass_rate"]) == (0.9, 0.45)
    assert row["shift_pp"] == pytest.approx(-45.0)
    assert row["fail_shift_pp"] == pytest.approx(-5.0)
    assert row["insufficient_shift_pp"] == pytest.approx(50.0)
    assert row["band"] == "act"
    assert row["note"] == "share insufficient +50.0 pp"


def test_a_new_batch_screened_now_equals_its_screening_output(edge, capsys):
    """``--batch`` screens CURRENT in the process: the same figures as comparing the
    written output of the same inputs."""
    argv = ["monitor", str(edge["baseline"]), str(EDGE_SITES), "--batch", "--format", "json"]
    assert main([*argv, "--as-of", AS_OF.isoformat()]) == 0
    batch = json.loads(capsys.readouterr().out)
    assert batch["sources"]["current"] == f"1 input(s) screened as of {AS_OF.isoformat()}"
    shared = {r["rule_id"]: r for r in batch["rules"] if r["band"] != "not compared"}
    assert shared and {r["band"] for r in shared.values()} == {"stable"}
    assert {r["shift_pp"] for r in shared.values()} <= {0.0, None}  # None: nothing decided
    assert {r["insufficient_shift_pp"] for r in shared.values()} == {0.0}
    assert {f["psi"] for f in batch["fields"]} == {0.0}
    assert main(["monitor", str(edge["baseline"]), str(EDGE_SITES), "--as-of", "2025-06-30"]) == 1
    assert "unless --batch is given" in capsys.readouterr().err


def test_the_chinese_pdf_takes_its_words_from_zh_yaml(edge, tmp_path, capsys):
    pdf = tmp_path / "monitor.pdf"
    args = ["monitor", str(edge["baseline"]), str(edge["current"]), "-o", str(pdf)]
    assert main([*args, "--lang", "zh"]) == 0
    assert "worst band: act" in capsys.readouterr().out  # the printed text stays English
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "监测：规则与模型漂移" in text and "各规则通过率变化" in text and "行动" in text
    assert f"{RULE}（通过率 -25.0 个百分点）" in text and "评估PUE" in text  # by its label
    assert "Pass-rate shift per rule" not in text and "Recommendations and eligibility" not in text


def test_the_psi_and_its_bands_live_in_one_module():
    import assessment.model.drift as drift_module
    import assessment.model.predict as predict_module

    for name in ("psi", "band", "drift", "_numeric_psi", "_category_psi"):
        assert hasattr(drift_module, name) and not hasattr(predict_module, name), name
    assert band(psi([0.5, 0.5], [0.5, 0.5])) == "stable"
    assert band(psi([0.9, 0.1], [0.1, 0.9])) == "act"


BROKEN = ROOT / "sample_projects" / "broken"


def test_a_batch_with_rejected_inputs_lists_them_on_stderr_and_exits_2(edge, capsys):
    """The exit-code policy: the rest is compared, each rejected input is one line on
    stderr, and the exit code is 2."""
    settings = Settings(as_of=AS_OF)
    found = monitor_batch(edge["baseline"], [str(EDGE_SITES), str(BROKEN)], settings, jobs=1)
    rejected = set(found.rejected["project_id"])
    assert {"DC-2025-012", "DC-2025-015", "CL-0107"} <= rejected
    argv = ["monitor", str(edge["baseline"]), str(EDGE_SITES), str(BROKEN), "--batch"]
    assert main([*argv, "--as-of", AS_OF.isoformat()]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if "[rejected]" in line]
    assert len(lines) == len(found.rejected)
    assert any("DC-2025-012: pue: out of range" in line for line in lines)
    assert captured.out.startswith("No change:")  # the comparison is still printed: the
    # batch's scored edge sites are the baseline's, so nothing moved
    assert monitor_outputs(edge["baseline"], edge["baseline"]).rejected.empty
