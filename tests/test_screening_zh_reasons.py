"""Issue 18 leftover: ``assess screen --lang zh`` words the Screening sheet's reasons in Chinese.
The reasons column and the decision's reason are written in the screening's language: in
Chinese each criterion's finding and each model factor in the memo's own words (the findings
and factors of ``templates/report/zh.yaml``, through ``reports.memo.front``), the decision's
reason from the decision table's ``reason_zh``; in English the sheet keeps its compact line."""

from __future__ import annotations

import openpyxl
import pytest
import yaml
from helpers import AS_OF, ROOT
from run_assess import run_quietly
from test_zh_outputs_issue17 import english_words

from assessment.decision.decide import load_decision_table
from assessment.pipeline import score_applications
from assessment.screening.records import reason_lines, reasons_text, result_rows

SAMPLES = ROOT / "sample_projects"
INPUTS = (  # flags, doubted and off-range values, borderline and undecided gates, model factors
    SAMPLES / "candidates" / "plausibility_checks.csv",
    SAMPLES / "01_guizhou_guian_hyperscale.xlsx",
    SAMPLES / "04_beijing_retrofit_high_pue.xlsx",
)
CJK = range(0x4E00, 0xA000)


def _sheet(folder) -> dict[str, dict]:
    """The Screening sheet's rows by project id, each a dict of column -> cell."""
    book = openpyxl.load_workbook(folder / "screening.xlsx", read_only=True)
    rows = list(book["Screening"].iter_rows(min_row=3, values_only=True))
    header = rows[0]
    return {
        row[header.index("project_id")]: dict(zip(header, row, strict=True)) for row in rows[1:]
    }


@pytest.fixture(scope="module")
def screened(tmp_path_factory) -> dict[str, dict]:
    """The Screening sheet of ``assess screen --lang zh`` over :data:`INPUTS`, by project."""
    out = tmp_path_factory.mktemp("screen_zh")
    argv = ["screen", *map(str, INPUTS), "-o", str(out), "--as-of", str(AS_OF), "--lang", "zh"]
    ran = run_quietly(*argv, "--jobs", "1", "-q")
    assert ran.returncode == 0, ran.stderr
    return _sheet(out)


def _chinese(text: str) -> bool:
    return any(ord(ch) in CJK for ch in text)


def test_every_reason_of_a_chinese_screening_is_chinese(screened):
    rows = screened.values()
    reasons = [row["reasons"] for row in rows if row["reasons"]]
    assert len(reasons) >= 15  # most projects have reasons: rules, flags, model factors
    assert all(_chinese(text) for text in reasons)
    assert [w for text in reasons for w in english_words(text)] == []
    assert not any(" vs " in text or "model:" in text for text in reasons)


def test_the_decisions_reason_is_the_decision_tables_chinese_one(screened):
    chinese = {row.reason_zh for row in load_decision_table()}
    assert {row["decision_reason"] for row in screened.values()} <= chinese
    assert screened["PC-08"]["decision_reason"].startswith("绿色认定将依据一项合理性核查存疑的数值")


def test_chinese_reasons_use_the_memos_findings_and_factors(screened):
    zh = screened  # the findings and factors of zh.yaml, as the memo's page one words them
    assert zh["DC-2025-001"]["reasons"].startswith("CR-DSCR-MIN：1.15x，要求>= 1.2x：未通过")
    assert (
        "GRN-PUE-CLUSTER-WEST：1.2，要求<= 1.2：勉强达标（HUB-WEST）"
        in zh["DC-2025-001"]["reasons"]
    )
    assert "CR-DSCR-MIN：未提供：无法按>= 1.2x判断" in zh["DC-2025-004"]["reasons"]
    assert (
        "水资源利用效率WUE 1.8 L/kWh：超出合理区间 1.3 L/kWh：未通过"
        in zh["DC-2025-004"]["reasons"]
    )
    assert "GRN-PUE-GRADE2：1.18，要求<= 1.3：达标但数值存疑（GB40879）" in zh["PC-08"]["reasons"]
    assert "风险模型：资本金比例 30.0%：使估计违约概率上升" in zh["PC-14"]["reasons"]


@pytest.fixture(scope="module")
def scored():
    return score_applications(INPUTS[1:], as_of=AS_OF)


def test_english_results_keep_their_compact_reasons(scored):
    en = result_rows(scored).set_index("project_id")
    assert en.at["DC-2025-001", "reasons"] == (
        "CR-DSCR-MIN: 1.15x vs >= 1.2x (ENGINE-CREDIT); "
        "PLB-GREEN-EVIDENCE: 62.0% vs <= 2.0% (ENGINE-PLAUS); "
        "GRN-PUE-CLUSTER-WEST [borderline]: 1.2 vs <= 1.2 (HUB-WEST); "
        "GRN-PUE-2024-HUB-NEW [borderline]: 1.2 vs <= 1.2 (PLAN2024)"
    )
    assert en.at["DC-2025-004", "reasons"].endswith(
        "CR-DSCR-MIN [insufficient]: - vs >= 1.2x (ENGINE-CREDIT)"
    )
    assert en.at["DC-2025-004", "decision_reason"] == (
        "gates could not be decided for missing data: the fields listed would decide them"
    )


def test_the_words_come_from_the_report_template_searched_first(scored, tmp_path):
    """A user's zh.yaml rewording a finding rewords the screening's reasons: the words have
    one home, the template."""
    folder = tmp_path / "templates" / "report"
    folder.mkdir(parents=True)
    words = yaml.safe_load((ROOT / "templates" / "report" / "zh.yaml").read_text("utf-8"))
    words["findings"]["fail"] = "实为{value}，应{operator} {threshold}：不合格"
    words["reason_line"]["separator"] = " | "
    (folder / "zh.yaml").write_text(yaml.safe_dump(words, allow_unicode=True), "utf-8")
    lines = reason_lines(scored, "zh", str(tmp_path / "templates"))
    own = dict(zip(scored.frame.index, lines, strict=True))
    assert own["DC-2025-001"].startswith("CR-DSCR-MIN：实为1.15x，应>= 1.2x：不合格")
    assert " | PLB-GREEN-EVIDENCE：实为62.0%" in own["DC-2025-001"]


def test_a_chinese_result_differs_from_the_english_in_its_reasons_only(scored):
    en, zh = result_rows(scored), result_rows(scored, "zh")
    assert en["reasons"].tolist() == [reasons_text(r) for r in scored.decisions["reasons"]]
    assert en["decision_reason"].tolist() == scored.decisions["decision_reason"].tolist()
    assert zh["decision_reason"].tolist() == scored.decisions["decision_reason_zh"].tolist()
    same = [c for c in en.columns if c not in ("reasons", "decision_reason")]
    assert en[same].astype(object).equals(zh[same].astype(object))


def _memo_line(scored, project_id, reasons) -> str:
    """The line the memo's own function words for one project, nothing kept between projects."""
    from assessment.reports.memo.facts import Memo, Run
    from assessment.reports.memo.front import reasons_line
    from assessment.reports.pdf.style import Look

    run = Run(scored, Look("zh"), memos=1)
    return reasons_line(Memo(run, {"project_id": project_id, "indicators": {}}), reasons)


def test_each_distinct_reason_is_worded_once_and_as_the_memo_words_it():
    """The Chinese lines word each distinct reason once and keep it for the next project: the
    lines are those the memo's function gives each project on its own, and a wording that
    reads the project's values (a model factor of missing inputs names the inputs blank in
    that project) is not kept for another project with the same reason."""
    scored = score_applications(INPUTS, as_of=AS_OF)
    lines = reason_lines(scored, "zh")
    assert lines == [_memo_line(scored, p, r) for p, r in scored.decisions["reasons"].items()]
    inputs = ["pue", "pue_design"]  # pue_to_design's: a project with one blank, one with none
    blank = scored.frame[inputs].isna()
    first = blank.index[blank.sum(axis=1) == 1][0]
    second = blank.index[blank.sum(axis=1) == 0][0]
    factor = {"kind": "model", "criterion": "pue_to_design", "value": None, "contribution": 0.2}
    scored.decisions["reasons"] = [[dict(factor)] for _ in scored.decisions.index]
    lines = dict(zip(scored.decisions.index, reason_lines(scored, "zh"), strict=True))
    assert lines[first] == _memo_line(scored, first, [factor])
    assert lines[second] == _memo_line(scored, second, [factor])
    assert lines[first] != lines[second]
