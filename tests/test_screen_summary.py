"""The portfolio summary of a screening run: exact counts on a hand-made frame, a fast build on
a large one, and a PDF (English and Chinese) that carries the counts and the top candidates,
renders, and comes out byte-identical on a second run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT

from assessment.decision import decide as decision
from assessment.errors import AssessmentError
from assessment.screening.summary import summary_tables, write_summary_pdf

pypdf = pytest.importorskip("pypdf", reason="pypdf comes with the test extras")
pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 comes with the test extras")

RULES = ["GRN-PUE", "GC-SCOPE", "REIT-AGE", "CR-DSCR"]
TITLES = {"GRN-PUE": "PUE limit", "GC-SCOPE": "Green-credit scope", "REIT-AGE": "Operating years"}
VERDICTS = ["not_applicable", "insufficient", "pass", "fail"]
RECOMMENDATIONS = ["approve", "approve_with_conditions", "refer", "decline"]
PROVINCES = ["贵州", "内蒙古", "甘肃", "宁夏", "河北", "广东"]
HUBS = ["贵州枢纽", "内蒙古枢纽", "甘肃枢纽", "宁夏枢纽", "京津冀枢纽", "粤港澳枢纽"]
PROGRAMMES = ["green", "green_credit", "reit", "credit"]
META = {
    "as_of": "2025-06-30",
    "rule_versions": {"green_dc_cn": "2025.1", "creit_cn": "2024.3"},
    "model": "ab12cd34ef56ab78" + "0" * 48,
    "engine": "0.1.0",
    "inputs": 7,
}


def make_results(n: int, seed: int = 0, with_pd: bool = True) -> pd.DataFrame:
    """A ranked screening result of ``n`` projects with every column the engine writes."""
    rng = np.random.default_rng(seed)
    score = np.round(rng.uniform(0, 100, n), 2)
    score[rng.random(n) < 0.05] = np.nan
    score = -np.sort(-score)  # ranked by score, the projects without one last
    eligible = pd.arrays.BooleanArray(rng.random(n) < 0.5, rng.random(n) < 0.1)
    frame = pd.DataFrame(
        {
            "project_id": [f"DC-{i:07d}" for i in range(n)],
            "project_name": [f"数据中心 {i}" for i in range(n)],
            "source_file": "batch.xlsx",
            "source_row": np.arange(n) + 2,
            "province": rng.choice(PROVINCES, n),
            "hub": rng.choice(HUBS, n),
            "facility_type": "hyperscale",
            "financing_purpose": "construction",
            "recommendation": rng.choice(RECOMMENDATIONS, n),
            "eligible": eligible,
            "score": score,
            "pd": rng.beta(1, 20, n) if with_pd else np.nan,
            "grade": rng.choice(list("ABCD"), n),
        }
    )
    for programme in PROGRAMMES:
        frame[f"{programme}_eligible"] = frame["eligible"]
        frame[f"{programme}_score"] = frame["score"]
        frame[f"{programme}_grade"] = frame["grade"]
    frame["reasons"] = ""
    frame["decision_reason"] = ""
    for rule in RULES:
        codes = rng.integers(-1, 4, n)
        frame[rule] = pd.Categorical.from_codes(codes, VERDICTS)
    frame.insert(0, "rank", np.arange(1, n + 1))
    return frame


def make_rejected(reasons: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file": "batch.xlsx",
            "sheet": "Projects",
            "row": range(2, 2 + len(reasons)),
            "cell": "C2",
            "project_id": [f"BAD-{i}" for i in range(len(reasons))],
            "reasons": reasons,
        }
    )


@pytest.fixture(scope="module")
def tiny():
    """Five projects with hand-set recommendations, provinces, hubs, scores and verdicts: the
    tables, built once and only read."""
    frame = make_results(5)
    frame["recommendation"] = ["approve", "approve_with_conditions", "decline", "decline", "refer"]
    frame["province"] = ["贵州", "贵州", "甘肃", "贵州", None]
    frame["hub"] = ["H1", "H2", "H2", "H2", "H1"]
    frame["eligible"] = pd.array([True, None, False, True, True], dtype="boolean")
    frame["score"] = [80.0, 60.0, np.nan, 40.0, 50.0]
    frame["pd"] = [0.01, 0.03, 0.2, np.nan, 0.05]
    verdicts = {
        "GRN-PUE": ["pass", "pass", "fail", "insufficient", "not_applicable"],
        "GC-SCOPE": ["not_applicable"] * 5,
        "REIT-AGE": ["pass", None, "fail", "fail", "pass"],
        "CR-DSCR": ["fail", "fail", "fail", "pass", "insufficient"],
    }
    for rule, values in verdicts.items():
        frame[rule] = pd.Categorical(values, categories=VERDICTS)
    rejected = make_rejected(
        [
            "pue: not a number; it_load_mw: missing",
            "pue: not a number",
            "it_load_mw: missing; it_load_mw: missing",
            None,
            "province: unknown name",
        ]
    )
    return summary_tables(frame, rejected, rule_ids=RULES, titles=TITLES)


def test_tables_come_in_the_order_of_the_summary_sheet(tiny):
    assert list(tiny) == [
        "By recommendation",
        "Pass rate per rule",
        "Flags raised",
        "Data quality",
        "By province",
        "By hub",
        "Rejection reasons",
    ]


def test_projects_are_counted_by_recommendation(tiny):
    table = tiny["By recommendation"]
    assert table["recommendation"].tolist() == list(decision.RECOMMENDATIONS)
    assert table["projects"].tolist() == [1, 1, 1, 0, 2]  # no project is incomplete
    assert table["share"].tolist() == [0.2, 0.2, 0.2, 0.0, 0.4]


def test_pass_rate_is_pass_over_judged_verdicts_and_nan_when_none_applies(tiny):
    table = tiny["Pass rate per rule"].set_index("rule_id")
    counts = ["pass", "fail", "insufficient", "not_applicable"]
    assert table.loc["GRN-PUE", counts].tolist() == [2, 1, 1, 1]
    assert table.loc["GRN-PUE", "pass_rate"] == 0.5
    shares = ["pass_rate", "fail_share", "insufficient_share"]
    assert table.loc["GRN-PUE", shares].tolist() == [0.5, 0.25, 0.25]  # fail and undecided apart
    assert table.loc["GC-SCOPE", counts].tolist() == [0, 0, 0, 5]
    assert math.isnan(table.loc["GC-SCOPE", "pass_rate"])
    assert table.loc["REIT-AGE", counts].tolist() == [2, 2, 0, 0]  # a missing verdict: no count
    assert table.loc["CR-DSCR", "pass_rate"] == 0.2
    assert table.loc["GRN-PUE", "title"] == "PUE limit"
    assert table.loc["CR-DSCR", "title"] == ""


def test_projects_are_grouped_by_province_largest_first(tiny):
    table = tiny["By province"]
    assert table["province"].tolist()[:2] == ["贵州", "甘肃"]
    assert pd.isna(table["province"].iloc[2])  # a missing province is a group of its own
    guizhou = table.iloc[0]
    assert (guizhou["projects"], guizhou["eligible"], guizhou["approve"]) == (3, 2, 2)
    assert guizhou["mean_score"] == 60.0
    assert guizhou["mean_pd"] == pytest.approx(0.02)
    assert table["projects"].tolist() == [3, 1, 1]


def test_projects_are_grouped_by_hub(tiny):
    table = tiny["By hub"].set_index("hub")
    assert table.index.tolist() == ["H2", "H1"]
    assert table.loc["H2", ["projects", "eligible", "approve"]].tolist() == [3, 1, 1]
    assert table.loc["H1", ["projects", "eligible", "approve"]].tolist() == [2, 2, 1]
    assert math.isnan(table.loc["H2", "mean_score"]) is False
    assert table.loc["H2", "mean_score"] == 50.0  # NaN score left out
    assert table.loc["H1", "mean_pd"] == pytest.approx(0.03)


def test_rejection_reasons_count_rows_per_reason_most_frequent_first(tiny):
    table = tiny["Rejection reasons"]
    assert table.to_dict("list") == {
        "reason": ["it_load_mw: missing", "pue: not a number", "province: unknown name"],
        "field": ["it_load_mw", "pue", "province"],
        "problem": ["missing", "not a number", "unknown name"],
        "inputs": [2, 2, 1],
        "examples": ["", "", ""],  # no value found written
        "files": ["batch.xlsx"] * 3,  # the files each reason was found in
    }


def test_a_large_run_is_summarised_with_consistent_totals():
    results = make_results(200_000, seed=1)
    rejected = make_rejected(["pue: not a number; hub: missing"] * 1000)
    tables = summary_tables(results, rejected, rule_ids=RULES, titles=TITLES)
    assert tables["By recommendation"]["projects"].sum() == 200_000
    assert tables["By province"]["projects"].sum() == tables["By hub"]["projects"].sum() == 200_000
    rates = tables["Pass rate per rule"]
    assert (rates[["pass", "fail", "insufficient", "not_applicable"]].sum(axis=1) < 200_000).all()
    assert rates["pass_rate"].between(0.2, 0.4).all()  # a third of the judged verdicts
    assert tables["Rejection reasons"]["inputs"].tolist() == [1000, 1000]


@pytest.fixture(scope="module")
def summary_pdfs(tmp_path_factory):
    """The summary of 300 projects in English (twice) and Chinese; the frame; the tables."""
    results = make_results(300, seed=2)
    reasons = [f"field_{i % 20}: not a number" for i in range(60)] + ["pue: missing"] * 9
    rejected = make_rejected(reasons)
    tables = summary_tables(results, rejected, rule_ids=RULES, titles=TITLES)
    meta = {**META, "projects_scored": len(results), "rejected": len(rejected)}
    folder = tmp_path_factory.mktemp("summary")
    paths = {
        name: write_summary_pdf(
            results, rejected, tables, folder / f"{name}.pdf", lang=name[:2], meta=meta
        )
        for name in ("en", "en_again", "zh")
    }
    return paths, results, tables


def _text(path) -> str:
    """The text of every page without white space (table cells come out one per line)."""
    pages = pypdf.PdfReader(path).pages
    return "".join("".join(page.extract_text().split()) for page in pages)


def test_pdf_carries_the_counts_and_the_top_candidates(summary_pdfs):
    paths, results, tables = summary_pdfs
    text = _text(paths["en"])
    assert "Portfolioscreeningsummary" in text and "Assessmentdate:2025-06-30" in text
    assert "Inputfiles7" in text and "Projectsscored300" in text
    assert "Inputrowsrejected69" in text
    for row in tables["By recommendation"].itertuples():
        words = {"approve_with_conditions": "Approvewithconditions"}
        label = words.get(row.recommendation, row.recommendation.capitalize())
        assert f"{label}{row.projects}{row.share:.1%}" in text
    top = results.nsmallest(25, "rank")
    for rank, project in zip(top["rank"], top["project_id"], strict=True):
        assert f"{rank}{project}" in text
    assert results["project_id"].iloc[25] not in text
    assert "MeasuredannualPUE:missingbatch.xlsx9" in text  # reason (by its label), files, rows
    assert "GRN-PUE" in text and "90-100" in text and ">=20%" in text
    assert (
        "creit_cn2024.3" in text
        and "ab12cd34ef56ab78" in text
        and "page2" in text
        and "page3" in text
    )


def test_chinese_pdf_is_worded_in_chinese(summary_pdfs):
    paths, results, _ = summary_pdfs
    text = _text(paths["zh"])
    assert "项目批量筛查汇总报告" in text and "评估日期：2025-06-30" in text
    assert "已评分项目数300" in text and "按省份汇总" in text and "附条件批准" in text
    assert results["project_id"].iloc[0] in text
    assert "Portfolio" not in text and "Projectsscored" not in text
    assert "第2页" in text


def test_pdf_is_byte_identical_on_a_second_run(summary_pdfs):
    paths, _, _ = summary_pdfs
    assert paths["en"].read_bytes() == paths["en_again"].read_bytes()
    assert not list(paths["en"].parent.glob("tmp*"))  # the temporary file is gone


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_renders_to_a_non_blank_a4_image(summary_pdfs, lang):
    document = pdfium.PdfDocument(summary_pdfs[0][lang])
    try:
        assert len(document) >= 2
        for index in range(len(document)):
            page = document[index]
            bitmap = page.render(scale=1, grayscale=True)
            image = np.array(bitmap.to_numpy(), copy=True)
            bitmap.close()
            page.close()
            assert abs(image.shape[0] - 842) <= 1 and abs(image.shape[1] - 595) <= 1
            assert (image < 250).mean() >= 0.01, f"page {index + 1} is blank"
    finally:
        document.close()


def test_without_a_model_the_pd_chart_gives_way_to_a_note(tmp_path):
    results = make_results(40, seed=3, with_pd=False)
    rejected = make_rejected([])
    tables = summary_tables(results, rejected, rule_ids=RULES, titles=TITLES)
    meta = {**META, "model": None, "projects_scored": 40, "rejected": 0}
    path = write_summary_pdf(results, rejected, tables, tmp_path / "s.pdf", meta=meta, top=5)
    text = _text(path)
    assert "Noriskmodelwasappliedinthisrun." in text
    assert ">=20%" not in text and "modelsha256-|" in text
    assert "Top5candidates" in text and "None." in text  # no rejected rows


def test_a_user_wording_file_without_the_summary_keys_is_refused(tmp_path):
    wording = (ROOT / "templates" / "report" / "en.yaml").read_text(encoding="utf-8")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "en.yaml").write_text(wording.split("\nsummary:")[0], "utf-8")
    results = make_results(5)
    tables = summary_tables(results, make_rejected([]), rule_ids=RULES, titles=TITLES)
    meta = {**META, "projects_scored": 5, "rejected": 0}
    with pytest.raises(AssessmentError, match=r"summary\b"):
        write_summary_pdf(
            results, make_rejected([]), tables, tmp_path / "s.pdf", templates=tmp_path, meta=meta
        )
    assert not (tmp_path / "s.pdf").exists()


def test_each_heading_shares_its_page_with_its_chart(tmp_path):
    """No heading is left alone at the foot of a page: with 48 rules (the shipped packs' size)
    the pass-rate heading is on the page of the first rule's bar, the score heading on the
    page of its first bin."""
    results = make_results(200, seed=3)
    rules = [f"RULE-{i:02d}" for i in range(48)]
    results = results.assign(**{rule: results[RULES[i % 4]] for i, rule in enumerate(rules)})
    tables = summary_tables(results, make_rejected([]), rule_ids=rules, titles={})
    meta = {**META, "projects_scored": len(results), "rejected": 0}
    path = write_summary_pdf(results, make_rejected([]), tables, tmp_path / "s.pdf", meta=meta)
    pages = ["".join(page.extract_text().split()) for page in pypdf.PdfReader(path).pages]
    for heading, first in (("Passrateperrule", rules[0]), ("Distributionofscores", "0-10")):
        page = next(i for i, text in enumerate(pages) if heading in text)
        assert first in pages[page].split(heading, 1)[1], heading
