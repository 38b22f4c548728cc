"""The PDF memo: byte-identical on a second run, the decision and its reasons readable in the
extracted text (English and Chinese), a golden text file, and a user template that overrides
the packaged one."""

from __future__ import annotations

import hashlib

import pytest
from helpers import AS_OF, ROOT, compare_golden, write_list
from test_verdicts import BASE

from assessment.cli import main
from assessment.decision.decide import load_routing
from assessment.errors import AssessmentError
from assessment.pipeline import project_records, score_applications
from assessment.reports.memo.write import write_report, write_reports

pypdf = pytest.importorskip("pypdf", reason="pypdf comes with the test extras")

GOLDEN = ROOT / "tests" / "golden"
SAMPLE = ROOT / "sample_projects" / "05_zhangjiakou_reit_ready.xlsx"
PROJECT = "DC-2025-005"
UPDATE = "run `python -m pytest tests/test_report.py --update-golden` and read the diff"


@pytest.fixture(scope="module")
def scored():
    model = ROOT / "rules" / "model" / "default_model.skops"
    return score_applications([SAMPLE], as_of=AS_OF, model=model)


@pytest.fixture(scope="module")
def record(scored):
    return project_records(scored)[0]


@pytest.fixture(scope="module")
def pdfs(scored, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    return {
        lang: write_report(scored, PROJECT, folder / f"{lang}.pdf", lang) for lang in ("en", "zh")
    }


def _text(path) -> str:
    pages = pypdf.PdfReader(path).pages
    return "\n".join(page.extract_text() for page in pages)


def _flat(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_second_run_gives_the_same_bytes(scored, pdfs, tmp_path, lang):
    again = write_report(scored, PROJECT, tmp_path / "again.pdf", lang)
    assert again.read_bytes() == pdfs[lang].read_bytes()


def test_english_memo_names_the_project_the_recommendation_and_failed_gates(pdfs, record):
    text = _flat(_text(pdfs["en"]))
    assert record["decision"]["recommendation"] == "approve"
    assert "Recommendation:APPROVE" in text
    assert PROJECT in text
    gates = [
        r["rule_id"] for r in record["rules"] if r["verdict"] == "fail" and r["severity"] == "gate"
    ]
    assert gates, "the sample should fail at least one gate"
    for rule_id in gates:
        assert rule_id in text


def test_chinese_memo_keeps_its_characters(pdfs):
    text = _flat(_text(pdfs["zh"]))
    for title in ("融资评估备忘录", "评估建议:批准", "各项目类别结论", "关键指标", "评估标准明细"):
        assert title in text
    assert "附录：依据来源" in text
    assert PROJECT in text


def test_footer_names_the_input_rules_model_and_engine(pdfs, scored):
    text = _text(pdfs["en"])
    digest = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()[:16]
    assert f"input sha256 {digest}" in text
    assert "green_dc_cn 2026.1" in text and "rules: compliance_cn" in text
    assert scored.model.card["sha256"][:16] in text
    assert "engine 0.1.0" in text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_memo_text_matches_the_golden_file(pdfs, lang, update_golden):
    text = _text(pdfs[lang]).rstrip() + "\n"
    compare_golden(GOLDEN / f"report_{PROJECT}_{lang}.txt", text, update_golden, UPDATE)


def test_a_user_template_overrides_one_file(scored, tmp_path):
    user = tmp_path / "templates" / "report"
    user.mkdir(parents=True)
    wording = (ROOT / "templates" / "report" / "en.yaml").read_text(encoding="utf-8")
    user.joinpath("en.yaml").write_text(
        wording.replace("title: Financing assessment memo", "title: Credit committee paper"),
        encoding="utf-8",
    )
    path = write_report(scored, PROJECT, tmp_path / "memo.pdf", templates=tmp_path / "templates")
    text = _text(path)
    assert "Credit committee paper" in text
    assert "Financing assessment memo" not in text
    assert "Key figures" in text  # the rest comes from the packaged files


def test_an_unknown_language_is_refused(scored, tmp_path):
    with pytest.raises(ValueError, match="'lang' parameter"):
        write_report(scored, PROJECT, tmp_path / "memo.pdf", lang="fr")


def test_several_projects_are_named_beside_the_file(tmp_path):
    samples = [SAMPLE, ROOT / "sample_projects" / "01_guizhou_guian_hyperscale.xlsx"]
    scored = score_applications(samples, as_of=AS_OF, model=None)
    paths = write_reports(scored, tmp_path / "memo.pdf")
    assert len(paths) == len(scored.frame) >= 2
    assert all(p.name.startswith("memo_") and p.is_file() for p in paths)


def test_cli_writes_the_report(tmp_path, capsys):
    path = tmp_path / "memo.pdf"
    args = ["score", str(SAMPLE), "--as-of", "2025-06-30", "--report", str(path), "--lang", "zh"]
    assert main(args) == 0
    capsys.readouterr()
    assert "评估建议" in _text(path)


@pytest.fixture(scope="module")
def declined(tmp_path_factory):
    """A declined project (equity below the 20 % floor), its record, and its memo in both
    languages; and a referred one with conditions (the unverified DSCR floor fails, contracted
    revenue is below its score threshold)."""
    folder = tmp_path_factory.mktemp("declined")
    rows = [
        BASE | {"project_id": "D-1", "equity_cny": 150_000_000},
        BASE
        | {
            "project_id": "R-1",
            "contracted_revenue_share": 0.5,
            **{f"operating_cash_flow_cny_{y}": 60_000_000 for y in (2025, 2026, 2027)},
        },
    ]
    path = write_list(folder / "declined.csv", rows)
    scored = score_applications(path, as_of=AS_OF, model=ROOT / "rules/model/default_model.skops")
    records = {record["project_id"]: record for record in project_records(scored)}
    pdfs = {
        (pid, lang): write_report(scored, pid, folder / f"{pid}_{lang}.pdf", lang)
        for pid in records
        for lang in ("en", "zh")
    }
    routing = load_routing()
    asked = {
        name
        for name, result in records["D-1"]["programmes"].items()
        if result["requested"] and routing.roles[name] in ("floor", "route")
    }
    return records, pdfs, asked


def test_every_failed_gate_is_a_principal_reason_on_page_one(declined):
    records, pdfs, relevant = declined
    record = records["D-1"]
    assert record["decision"]["recommendation"] == "decline"
    assert record["decision"]["conditions"] == []  # a declined loan carries none
    page_one = _flat(pypdf.PdfReader(pdfs["D-1", "en"]).pages[0].extract_text())
    failed = [
        r["rule_id"]
        for r in record["rules"]
        if r["verdict"] == "fail" and r["severity"] == "gate" and r["programme"] in relevant
    ]
    reasons = [r["criterion"] for r in record["decision"]["reasons"] if r["kind"] == "rule"]
    assert failed and set(failed) <= set(reasons)
    for rule_id in failed:
        assert rule_id in page_one


def test_chinese_memo_words_the_decision_and_conditions_in_chinese(declined):
    records, pdfs, _ = declined
    declined_text = _flat(_text(pdfs["D-1", "zh"]))
    assert "评估建议:拒绝" in declined_text
    assert _flat(records["D-1"]["decision"]["decision_reason_zh"]) in declined_text
    record = records["R-1"]
    assert record["decision"]["recommendation"] == "refer"
    assert record["decision"]["conditions"], "the referred case should carry conditions"
    text = _flat(_text(pdfs["R-1", "zh"]))
    assert "评估建议:提交复议" in text
    assert "调整至" in text  # the covenant wording of zh.yaml
    assert "bring" not in text and "the application" not in text


def test_criteria_name_the_source_cell_of_each_observed_value(pdfs, scored):
    text = _flat(_text(pdfs["en"]))
    cell = scored.applications.source_cell(PROJECT, "pue")
    assert cell and _flat(cell) in text
    assert "Notapplicabletothisprojectordate" in text


def test_a_user_template_that_lacks_keys_is_refused_with_the_keys(scored, tmp_path):
    user = tmp_path / "report"
    user.mkdir()
    wording = (ROOT / "templates" / "report" / "zh.yaml").read_text(encoding="utf-8")
    user.joinpath("zh.yaml").write_text(wording.replace("  model_summary:", "  summary:"), "utf-8")
    with pytest.raises(AssessmentError, match=r"lacks 1 key\(s\): words\.model_summary") as error:
        write_report(scored, PROJECT, tmp_path / "memo.pdf", "zh", templates=tmp_path)
    assert str(user / "zh.yaml") in str(error.value)
    assert not (tmp_path / "memo.pdf").exists()


def test_a_user_template_that_is_not_yaml_is_refused(scored, tmp_path):
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "style.yaml").write_text("sizes: {title: 17\n", encoding="utf-8")
    with pytest.raises(AssessmentError, match="not valid YAML"):
        write_report(scored, PROJECT, tmp_path / "memo.pdf", templates=tmp_path)
