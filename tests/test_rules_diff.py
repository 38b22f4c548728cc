"""``assess rules diff``: the rule-table diff and the projects that flip under the new rules."""

from __future__ import annotations

import datetime as dt
import shutil

import pypdf
import pytest
from helpers import ROOT
from openpyxl import load_workbook

from assessment.cli import main
from assessment.criteria.evaluate import VERDICTS
from assessment.criteria.rules import load_rules
from assessment.decision.decide import load_decision_table
from assessment.errors import AssessmentError
from assessment.intake.read import read_applications
from assessment.pipeline import score_read
from assessment.workbench.rules_diff import diff_rules, rule_changes
from assessment.workbench.rules_diff_report import write_diff_pdf

AS_OF = dt.date(2025, 6, 30)
RULE = "CMP-GB40879-LIMIT"  # the legal floor: pue_assessed <= 1.50, every purpose
PACK = "compliance_cn"
OLD_LIMIT, NEW_LIMIT = 1.50, 1.25


def _set_limit(folder, rule_id: str, old: str, new: str, pack: str = PACK) -> None:
    path = folder / pack / "rules.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = [
        line.replace(f",{old},", f",{new},", 1) if line.startswith(f"{rule_id},") else line
        for line in lines
    ]
    assert edited != lines
    path.write_text("".join(edited), encoding="utf-8")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("rules_diff")
    old, new = root / "old", root / "new"
    shutil.copytree(ROOT / "rules", old)
    shutil.copytree(ROOT / "rules", new)
    _set_limit(new, RULE, "1.50", "1.25")
    return old, new


@pytest.fixture(scope="module")
def applications():
    return read_applications(ROOT / "sample_projects", as_of=AS_OF)


@pytest.fixture(scope="module")
def diff(folders, applications):
    old, new = (load_rules(folder) for folder in folders)
    return diff_rules(old, new, applications, as_of=AS_OF)


@pytest.fixture(scope="module")
def before(folders, applications):
    """The samples assessed once with the old rules (the tests only read the run)."""
    return score_read(applications, as_of=AS_OF, rules=load_rules(folders[0]))


@pytest.fixture(scope="module")
def expected(before):
    """Projects the rule applies to (old run) whose assessed PUE lies in (1.25, 1.50]; those
    of them that passed the legal floor; and those whose recommendation the floor cannot
    change (declined already, or decided by a decision row tried before the floor's)."""
    codes = before.evaluation.results[RULE].codes
    pue = before.frame["pue_assessed"].to_numpy(dtype=float, na_value=float("nan"))
    applies = codes != VERDICTS.index("not_applicable")
    moved = applies & (pue > NEW_LIMIT) & (pue <= OLD_LIMIT)
    programmes = before.evaluation.programmes
    eligible = programmes["compliance_eligible"].eq(True).fillna(False).to_numpy()
    floor_row = next(r.order for r in load_decision_table() if "compliance_status" in r.when)
    decisions = before.decisions
    kept = (decisions["recommendation"] == "decline") | (decisions["decision_row"] < floor_row)
    index = before.frame.index
    return set(index[moved]), set(index[moved & eligible]), set(index[kept.to_numpy()])


def test_the_table_diff_names_the_rule_column_and_values(diff):
    rows = diff.changes.to_dict("records")
    assert rows == [
        {"rule_id": RULE, "change": "changed", "column": "threshold", "old": "1.5", "new": "1.25"}
    ]


def test_exactly_the_projects_between_the_limits_flip(diff, expected, before):
    moved, were_eligible, kept = expected
    assert were_eligible, "the samples should hold projects between the two limits"
    flips = diff.flips
    assert set(flips["outcome"]) == {"compliance_status", "recommendation"}
    # a project just inside the new limit passes it only within the borderline margin
    # (rules/decision/borderline.csv): referred, though no verdict changed
    narrow = flips[flips["rules"] == ""]
    frame = before.frame  # the old rules: a copy of the packaged ones
    pue = frame.loc[list(narrow["project_id"]), "pue_assessed"].astype(float)
    assert set(narrow["outcome"]) <= {"recommendation"} and set(narrow["new"]) <= {"refer"}
    assert ((pue <= NEW_LIMIT) & (pue >= NEW_LIMIT - 0.01 - 1e-9)).all()
    flips = flips[flips["rules"] != ""]
    assert set(flips["rules"]) == {RULE}
    status = flips[flips["outcome"] == "compliance_status"]
    assert set(status["project_id"]) == were_eligible
    assert set(status["old"]) == {"eligible"} and set(status["new"]) == {"not_eligible"}
    # failing the legal floor declines, whatever the purpose (rules/decision/README.md)
    recommendation = flips[flips["outcome"] == "recommendation"]
    assert set(recommendation["project_id"]) == were_eligible - kept
    assert set(recommendation["new"]) == {"decline"}
    assert len(were_eligible & kept) >= 1  # one was declined already: no flip
    summary = diff.summary.set_index("programme")
    assert summary.loc["compliance", "became_ineligible"] == len(were_eligible)
    assert summary.loc["compliance", "became_eligible"] == 0
    assert summary.loc["compliance", "eligibility_unknown"] == 0
    assert summary.loc["all", "recommendation_changed"] == len(recommendation) + len(narrow)


def test_verdict_changes_count_every_project_between_the_limits(diff, expected):
    moved, _, _ = expected
    assert diff.verdicts.values.tolist() == [[RULE, "pass", "fail", len(moved)]]
    assert len(moved) > 80


def test_an_unverified_gate_that_fails_makes_eligibility_unknown(
    folders, applications, before, tmp_path
):
    """CR-DSCR-MIN (an engine default, unverified) moved from 1.20 to 1.60: a credit-eligible
    project with a forecast DSCR in [1.20, 1.60) becomes ``unverified`` (a person must judge),
    not ineligible."""
    moved = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", moved)
    _set_limit(moved, "CR-DSCR-MIN", "1.20", "1.60", pack="credit_policy")
    old, new = load_rules(folders[0]), load_rules(moved)
    dscr = before.frame["dscr_forecast_min"].to_numpy(dtype=float, na_value=float("nan"))
    eligible = before.evaluation.programmes["credit_status"].eq("eligible").to_numpy()
    expected = set(before.frame.index[eligible & (dscr >= 1.20) & (dscr < 1.60)])
    diff = diff_rules(old, new, applications, as_of=AS_OF)
    status = diff.flips[diff.flips["outcome"] == "credit_status"]
    assert set(status["project_id"]) == expected and expected
    assert set(status["new"]) == {"unverified"}
    credit = diff.summary.set_index("programme").loc["credit"]
    assert credit["eligibility_unknown"] == len(expected) and credit["became_ineligible"] == 0


def test_added_and_removed_rules_are_reported(folders, tmp_path):
    old = load_rules(folders[0])
    changed = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", changed)
    path = changed / PACK / "rules.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    row = next(line for line in lines if line.startswith(f"{RULE},"))
    lines.remove(row)
    lines.append(row.replace(f"{RULE},", "CMP-NEW-LIMIT,", 1))
    path.write_text("".join(lines), encoding="utf-8")
    changes = rule_changes(old, load_rules(changed))
    assert changes[["rule_id", "change"]].values.tolist() == [
        [RULE, "removed"],
        ["CMP-NEW-LIMIT", "added"],
    ]


def test_a_moved_segment_threshold_is_named_by_its_segment(folders, tmp_path):
    changed = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", changed)
    table = changed / "green_dc_cn" / "segments" / "rack_utilisation.csv"
    table.write_text("in_cluster,threshold,unit\ntrue,70,%\nfalse,62,%\n,60,%\n", "utf-8")
    changes = rule_changes(load_rules(folders[0]), load_rules(changed))
    assert changes.values.tolist() == [
        ["GRN-RACK-UTIL", "changed", "segment[in_cluster=true]", "0.65", "0.7"],
        ["GRN-RACK-UTIL", "changed", "segment[in_cluster=false]", "-", "0.62"],
    ]
    table.write_text("in_cluster,threshold,unit\n,60,%\ntrue,65,%\n", "utf-8")
    (reordered,) = rule_changes(load_rules(folders[0]), load_rules(changed)).values.tolist()
    assert reordered == [
        "GRN-RACK-UTIL",
        "changed",
        "segment",
        "in_cluster=true; any",
        "any; in_cluster=true",
    ]


def test_the_cli_writes_a_workbook_with_three_sheets(folders, tmp_path, capsys):
    output = tmp_path / "diff.xlsx"
    old, new = (str(folder) for folder in folders)
    portfolio = str(ROOT / "sample_projects")
    code = main(
        ["rules", "diff", old, new, "--portfolio", portfolio, "--as-of", "2025-06-30"]
        + ["-o", str(output)]
    )
    assert code == 0
    assert f"{RULE} threshold: 1.5 -> 1.25" in capsys.readouterr().out
    book = load_workbook(output, read_only=True)
    assert book.sheetnames == [
        "Rule changes",
        "Project flips",
        "Verdict changes",
        "Pass rates",
        "Summary",
    ]


def test_identical_folders_give_no_changes(folders, capsys):
    assert main(["rules", "diff", str(folders[0]), str(folders[0])]) == 0
    assert "no changes" in capsys.readouterr().out


def test_a_missing_folder_is_an_error(folders, tmp_path, capsys):
    assert main(["rules", "diff", str(folders[0]), str(tmp_path / "none")]) == 1
    assert "no rule pack found" in capsys.readouterr().err


def test_the_cli_writes_a_pdf_and_a_workbook_at_once(folders, tmp_path):
    pdf, book = tmp_path / "diff.pdf", tmp_path / "diff.xlsx"
    old, new = (str(folder) for folder in folders)
    argv = ["rules", "diff", old, new, "--as-of", "2025-06-30", "-o", str(pdf), "-o", str(book)]
    assert main(argv) == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    assert "Rule changes" in load_workbook(book, read_only=True).sheetnames


def test_another_output_format_is_an_error(folders, tmp_path, capsys):
    output = str(tmp_path / "diff.txt")
    assert main(["rules", "diff", str(folders[0]), str(folders[0]), "-o", output]) == 1
    assert "-o FILE.xlsx and/or -o FILE.pdf" in capsys.readouterr().err


def _pdf_text(path) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def test_the_pdf_is_worded_by_the_language_template(diff, tmp_path):
    chinese = _pdf_text(write_diff_pdf(diff, tmp_path / "zh.pdf", as_of="2025-06-30", lang="zh"))
    assert "规则变更对比" in chinese and "结论发生变化的项目" in chinese
    assert "合规底线：状态" in chinese and "不合格" in chinese  # programme and status words
    assert "不通过" in chinese  # verdict words
    assert "Project flips" not in chinese and "Rule changes" not in chinese
    english = _pdf_text(write_diff_pdf(diff, tmp_path / "en.pdf", as_of="2025-06-30"))
    for heading in ("Rules diff", "Rule changes", "Flips per programme", "Project flips"):
        assert heading in english


def test_a_user_wording_file_without_a_diff_key_is_refused(diff, tmp_path):
    wording = (ROOT / "templates" / "report" / "zh.yaml").read_text(encoding="utf-8")
    (tmp_path / "report").mkdir()
    lacking = wording.replace("    flips: 结论发生变化的项目\n", "")
    assert lacking != wording
    (tmp_path / "report" / "zh.yaml").write_text(lacking, encoding="utf-8")
    with pytest.raises(AssessmentError, match=r"lacks 1 key\(s\): rules_diff\.sections\.flips"):
        write_diff_pdf(diff, tmp_path / "d.pdf", as_of="2025-06-30", lang="zh", templates=tmp_path)
    assert not (tmp_path / "d.pdf").exists()
