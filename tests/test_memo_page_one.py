"""Memo page one (issue 17): the decision, a one-glance panel (PUE against its limits, green
share, DSCR, PD, data-quality score), the criteria failed or undecided in words, the
conditions, the model's factors in plain words; numbers as people write them."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import AS_OF, ROOT

from assessment.pipeline import score_applications
from assessment.reports.memo.write import write_report
from assessment.reports.numbers import for_people
from assessment.reports.pdf.style import Look

pypdf = pytest.importorskip("pypdf", reason="pypdf comes with the test extras")
pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 comes with the test extras")

SAMPLES = ROOT / "sample_projects"
MODEL = ROOT / "rules" / "model" / "default_model.skops"
FILES = {
    "DC-2025-004": "04_beijing_retrofit_high_pue.xlsx",  # incomplete, a flag failed
    "DC-2025-005": "05_zhangjiakou_reit_ready.xlsx",  # approve, REIT only
    "DC-2025-010": "10_horinger_green_credit_ai.xlsx",  # approve with conditions
}
FILLS = {"pass": (0xC6, 0xEF, 0xCE), "fail": (0xFF, 0xC7, 0xCE), "insufficient": (0xFF, 0xEB, 0x9C)}


@pytest.fixture(scope="module")
def scored():
    return score_applications([SAMPLES / f for f in FILES.values()], as_of=AS_OF, model=MODEL)


@pytest.fixture(scope="module")
def memos(scored, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("page_one")
    return {
        (project, lang): write_report(scored, project, folder / f"{project}_{lang}.pdf", lang)
        for project in FILES
        for lang in ("en", "zh")
    }


def page_one(memos, project: str, lang: str = "en") -> str:
    return pypdf.PdfReader(memos[project, lang]).pages[0].extract_text()


def panel_fills(path) -> set[str]:
    """The verdict fills found in the band of the one-glance panel of page one."""
    image = pdfium.PdfDocument(path)[0].render(scale=1).to_pil().convert("RGB")
    band = np.asarray(image.crop((40, 150, image.size[0] - 40, 270))).reshape(-1, 3)
    colours = {tuple(int(c) for c in rgb) for rgb in np.unique(band, axis=0)}
    return {name for name, rgb in FILLS.items() if rgb in colours}


@pytest.mark.parametrize("project", ["DC-2025-004", "DC-2025-010"])
def test_page_one_leads_with_the_decision_then_reasons_conditions_and_factors(memos, project):
    text = page_one(memos, project)
    order = [
        "Recommendation:",
        "PUE assessed",
        "Reasons: criteria failed, undecided or narrowly met",
        "Conditions of the offer",
        "What moves the risk model",
    ]
    places = [text.index(heading) for heading in order]
    assert places == sorted(places), text
    assert text.index("What moves the risk model") < text.find("Programme verdicts") or (
        "Programme verdicts" not in text  # flowed on to page two
    )


def test_the_panel_shows_pue_green_share_dscr_pd_and_quality(memos):
    text = page_one(memos, "DC-2025-010")
    panel = text[text.index("PUE assessed") : text.index("Reasons:")]
    for shown in ("1.18", "within 1.2; 1.25; 1.3; 1.5", "78.0%", "evidenced: 78.0%", "1.62x"):
        assert shown in panel, (shown, panel)
    assert "floor >= 1.2x" in panel and "0.46%" in panel and "90/100" in panel
    assert "rating grade 1; advisory" in panel


def test_the_panel_is_coloured_by_verdict(memos):
    assert panel_fills(memos["DC-2025-010", "en"]) == {"pass"}
    # DC-2025-004: a green share claimed without evidence (fail), a DSCR not given
    assert {"fail", "insufficient"} <= panel_fills(memos["DC-2025-004", "en"])


def test_a_programme_not_asked_for_colours_nothing(memos):
    """DC-2025-005 asks for a REIT only: the green gates' tighter PUE limits and the credit
    floor are not its limits (no red, no yellow for them), and it has no PD."""
    text = page_one(memos, "DC-2025-005")
    panel = text[text.index("PUE assessed") : text.index("Reasons:")]
    assert "within 1.5" in panel and "over the limit" not in panel
    assert "credit not applied for" in panel and "no limit applies" in panel
    assert "fail" not in panel_fills(memos["DC-2025-005", "en"])
    assert "No criterion of the programmes asked for fails" in text


def test_failed_and_undecided_criteria_are_said_in_words(memos):
    text = " ".join(page_one(memos, "DC-2025-004").split())
    assert "8.0% against <= 2.0%: fails (threshold unverified: never decides alone)" in text
    assert "not given: cannot be checked against >= 1.2x" in text
    assert "1.3 meets <= 1.3 only narrowly" in text
    # a range check names the value checked, not the distance it tests
    assert "WUE 1.8 L/kWh: outside its plausible range by 1.3 L/kWh: fails" in text


def test_model_factors_are_plain_words_not_log_odds(memos):
    text = " ".join(page_one(memos, "DC-2025-004").split())
    assert (
        "Operating cash flow, Debt service not given: DSCR minimum not assessed, which raises"
        " the estimated PD" in text
    )
    assert "WALE 2.8 years: raises the estimated PD" in text
    assert "(+0." not in text and "log-odds" not in text


def test_the_chinese_page_one_is_worded_in_chinese(memos):
    text = " ".join(page_one(memos, "DC-2025-004", "zh").split())
    for words in ("评估PUE", "数据质量得分", "授信附加条件", "影响风险模型的因素"):
        assert words in text
    assert "未提供经营活动现金流量净额, 还本付息额：最低偿债覆盖率无法评估" in text
    assert "8.0%，要求<= 2.0%：未通过" in text
    for english in ("Reasons", "fails", "raises the estimated PD", "within"):
        assert english not in text


@pytest.mark.parametrize(
    ("value", "unit", "en", "zh"),
    [
        (210e6, "CNY", "CNY 210 m", "2.1 亿元"),
        (3.775e9, "CNY", "CNY 3.775 bn", "37.75 亿元"),
        (2e7, "CNY", "CNY 20 m", "2,000 万元"),
        (5000, "CNY", "CNY 5,000", "5,000 元"),
        (0.0812, "fraction", "8.1%", "8.1%"),
        (0.0087, "fraction", "0.87%", "0.87%"),
        (0.5, "fraction", "50.0%", "50.0%"),
        (6.2478, "years", "6.25 years", "6.25 年"),
        (1.6249, "x", "1.62x", "1.62x"),
        (2023, "year", "2023", "2023"),
        (1.101694, "", "1.102", "1.102"),
        (None, "CNY", "-", "-"),
    ],
)
def test_numbers_are_written_for_people(value, unit, en, zh):
    assert for_people(value, unit, Look("en").words) == en
    assert for_people(value, unit, Look("zh").words) == zh


def test_a_template_without_money_scales_uses_its_unit():
    words = {"money": {"divisor": 10000, "unit": "万元"}}
    assert for_people(2e7, "CNY", words) == "2,000 万元"


def test_money_in_the_memo_is_scaled(memos):
    """The key figures, on page two."""
    text = " ".join(pypdf.PdfReader(memos["DC-2025-005", "en"]).pages[1].extract_text().split())
    assert "Total investment CNY 1.26 bn" in text
    zh = " ".join(pypdf.PdfReader(memos["DC-2025-005", "zh"]).pages[1].extract_text().split())
    assert "总投资 12.6 亿元" in zh


def test_a_list_row_is_named_in_the_memo_language(tmp_path):
    """An input problem of a candidate-list row is placed at ``Sheet!row 13``; the Chinese
    memo says ``第 13 行``."""
    listed = score_applications(
        [SAMPLES / "candidates" / "candidate_list_2025.xlsx"], as_of=AS_OF, model=None
    )
    texts = {}
    for lang in ("en", "zh"):
        path = write_report(listed, "CL-0009", tmp_path / f"{lang}.pdf", lang)
        texts[lang] = " ".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    assert "!row 13" in texts["en"] and "!第 13 行" in texts["zh"]
    assert "row 13" not in texts["zh"]


def test_a_project_without_a_pue_gets_its_memo(tmp_path):
    """A new build with no design PUE, and a row with only an id and a name: the memo says
    '-' where the PUE would be (it used to stop on a missing PUE basis)."""
    from helpers import write_list

    rows = [
        {"project_id": "NP-1", "project_name": "No PUE", "project_kind": "new"},
        {"project_id": "NP-2", "project_name": "Blank"},
    ]
    listed = score_applications(write_list(tmp_path / "list.csv", rows), as_of=AS_OF, model=None)
    for project in ("NP-1", "NP-2"):
        for lang in ("en", "zh"):
            path = write_report(listed, project, tmp_path / f"{project}_{lang}.pdf", lang)
            text = pypdf.PdfReader(path).pages[0].extract_text()
            assert ("PUE assessed" in text) == (lang == "en") and "\n-\n" in text


def test_a_programme_not_asked_for_has_no_score_grade_or_eligibility(scored):
    from assessment.pipeline import project_records

    record = next(r for r in project_records(scored) if r["project_id"] == "DC-2025-005")
    green = record["programmes"]["green"]  # a REIT issue asks for no green label
    assert green["status"] == "not_requested"
    assert green["score"] is None and green["grade"] is None and green["eligible"] is None


def test_memos_of_a_screening_name_their_source_cells(tmp_path):
    """`assess screen --reports` writes memos whose profile names the cell of each input,
    as `assess score` does (they showed '-' for every cell)."""
    from assessment.cli import main

    out = tmp_path / "screen"
    workbook = SAMPLES / FILES["DC-2025-004"]
    args = ["screen", str(workbook), "-o", str(out), "--as-of", str(AS_OF), "--reports"]
    assert main([*args, "--jobs", "1", "--no-model"]) == 0
    text = " ".join(
        p.extract_text() for p in pypdf.PdfReader(out / "reports" / "DC-2025-004.pdf").pages
    )
    assert "项目信息!B4" in text and "项目信息!B19" in text


def test_the_screening_reasons_are_written_for_people():
    from assessment.screening.records import reasons_text

    text = reasons_text(
        [
            {
                "kind": "rule",
                "criterion": "CR-DSCR-MIN",
                "verdict": "fail",
                "metric": "dscr_forecast_min",
                "value": 0.748965,
                "operator": ">=",
                "threshold": 1.2,
                "unit": "",
                "source": "ENGINE-CREDIT",
            },
            {"kind": "model", "criterion": "equity_ratio", "value": 0.35, "contribution": 0.12},
            {"kind": "model", "criterion": "dscr_min", "value": None, "contribution": 0.2},
        ]
    )
    assert text == (
        "CR-DSCR-MIN: 0.75x vs >= 1.2x (ENGINE-CREDIT); "
        "model: Equity ratio 35.0%, raises the PD; model: DSCR minimum not given, raises the PD"
    )


def test_verdicts_and_source_ids_are_not_broken_mid_word(memos):
    """The criteria table's verdict column holds 'insufficient', the annex's source column
    'ENGINE-CREDIT', each on one line."""
    import re

    pages = pypdf.PdfReader(memos["DC-2025-004", "en"]).pages
    text = "\n".join(page.extract_text() for page in pages)
    assert "insufficient" in text and "ENGINE-CREDIT" in text
    assert not re.search(r"insufficie\s+nt|ENGINE-CREDI\s+T|CLIMATE-FLOO\s+R", text)
