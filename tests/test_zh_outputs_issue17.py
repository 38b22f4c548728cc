"""Issue 17, a newcomer's review: no English left in the Chinese outputs (``--lang zh``) and
numbers formatted one way. Each output is made from the samples as the README makes it and
read back (pypdf, openpyxl): the share of English words in a Chinese PDF's text (ids, codes,
units, numbers and the engine's name left out) stays under a bound the outputs exceeded
before (backtest notes, monitor fields and codes, the rules diff's column, the summary's
rejection reasons, the scorecard's features); then the points one by one."""

from __future__ import annotations

import copy
import re
import shutil

import openpyxl
import pandas as pd
import pypdf
import pytest
from helpers import AS_OF, ROOT
from reportlab.graphics.shapes import String
from trained import history

from assessment.cli import main
from assessment.decision.decide import RECOMMENDATIONS
from assessment.model.persist import load_model
from assessment.reports.fields import Wording
from assessment.reports.pdf.style import Look
from assessment.screening.summary import reason_parts, summary_tables
from assessment.workbench.backtest import run_backtest
from assessment.workbench.backtest_report import write_backtest_pdf
from assessment.workbench.monitor import monitor, read_screening
from assessment.workbench.monitor_report import (
    _shift_charts,
    bin_move,
    monitor_lines,
    write_monitor_pdf,
)
from assessment.workbench.sweep import sweep_rule, write_sweep_outputs

SAMPLES = ROOT / "sample_projects"
CANDIDATES = SAMPLES / "candidates" / "candidate_list_2025.xlsx"
HISTORY = SAMPLES / "history" / "loan_history.parquet"
# Words that are names in both languages: the engine and its commands (page headers).
NAMES = {"assessment", "backtest", "monitor", "train", "rules", "diff"}
BOUND = 0.01  # English words at most per token of a Chinese PDF's text
_TOKEN = re.compile(r"[^\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")
_CODE = re.compile(r"[\d_@/\\.\-]")  # ids, codes, numbers, files and paths


def english_words(text: str, data: tuple[str, ...] = ()) -> list[str]:
    """The English words of ``text``: words of three letters or more outside ids, codes and
    numbers (a token with a digit, ``_``, ``@``, ``/``, ``.`` or ``-``), acronyms, units and
    terms (a capital after the first letter: PUE, MWh, REITs, WoE), :data:`NAMES`, and the
    ``data`` (names and values an input gave, shown as given)."""
    for given in data:
        text = text.replace(given, " ")
    found = []
    for token in _TOKEN.findall(text):
        if _CODE.search(token.strip(".,;:()[]")):
            continue
        words = re.findall(r"[A-Za-z]+", token)
        found += [w for w in words if len(w) >= 3 and w[1:].islower() and w not in NAMES]
    return found


def english_share(pdf, data: tuple[str, ...] = ()) -> tuple[float, list[str]]:
    text = pdf_text(pdf)
    words = english_words(text, data)
    return len(words) / max(len(_TOKEN.findall(text)), 1), words


def pdf_text(pdf) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)


def test_english_words_leave_out_ids_codes_units_and_names():
    text = "CMP-GB40879-LIMIT 阈值 threshold pue_assessed PUE 1.5 MWh assessment 0.1.0 missing"
    assert english_words(text) == ["threshold", "missing"]
    assert english_words("省份：Guizhuo，无法读取", data=("Guizhuo",)) == []


# -- the outputs, made once ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def backtest():
    return run_backtest(history(), "defaulted", model=load_model())


@pytest.fixture(scope="module")
def screened(tmp_path_factory) -> dict:
    """The candidate list screened as of two dates (no model: quicker, the fields still move)."""
    found = {}
    for name, as_of in (("before", "2024-03-31"), ("after", AS_OF.isoformat())):
        out = tmp_path_factory.mktemp(f"screen_{name}")
        argv = ["screen", str(CANDIDATES), "-o", str(out), "--as-of", as_of, "--no-model", "-q"]
        assert main(argv) == 0
        found[name] = out
    return found


@pytest.fixture(scope="module")
def stricter_rules(tmp_path_factory):
    """The packaged rules with the GB 40879 limit lowered from 1.50 to 1.40."""
    folder = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(ROOT / "rules", folder)
    path = folder / "compliance_cn" / "rules.csv"
    text = path.read_text(encoding="utf-8")
    changed = re.sub(r"^(CMP-GB40879-LIMIT,.*?,pue_assessed,<=,)1\.50,", r"\g<1>1.40,", text,
                     count=1, flags=re.M)  # fmt: skip
    assert changed != text
    path.write_text(changed, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def diff_pdf(stricter_rules, tmp_path_factory):
    pdf = tmp_path_factory.mktemp("diff") / "d.pdf"
    argv = ["rules", "diff", str(ROOT / "rules"), str(stricter_rules), "--portfolio"]
    argv += [str(CANDIDATES), "--as-of", AS_OF.isoformat(), "--lang", "zh", "-o", str(pdf), "-q"]
    assert main(argv) == 0
    return pdf


@pytest.fixture(scope="module")
def rejected_summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("broken")
    argv = ["screen", str(SAMPLES / "broken"), "-o", str(out), "--as-of", AS_OF.isoformat()]
    assert main([*argv, "--lang", "zh", "--no-model", "-q"]) == 2  # every row rejected
    return out


@pytest.fixture(scope="module")
def trained_zh(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    data = folder / "history.csv"
    history(800).to_csv(data, index=False)
    model = folder / "out" / "bank.skops"
    argv = ["train", str(data), "--target", "defaulted", "-o", str(model), "--kind", "logistic"]
    assert main([*argv, "--lang", "zh", "-q"]) == 0
    return model


# -- English words in the Chinese PDFs -------------------------------------------------------------
def test_the_chinese_backtest_holds_almost_no_english(backtest, tmp_path):
    pdf = write_backtest_pdf(backtest, tmp_path / "bt.pdf", "zh")
    share, words = english_share(pdf)
    assert share < BOUND, words
    text = pdf_text(pdf)
    # the notes in Chinese, the purpose taken from the kind by the dictionary's labels
    assert "按项目性质（project_kind）推定：新建→建设" in text.replace("\n", "")
    assert "样本内：模型即以本历史数据训练" in text
    for name in ("合规底线规则得分", "国家绿色数据中心规则得分", "目标变量：是否违约"):
        assert name in text


def test_the_chinese_monitor_holds_almost_no_english(screened, tmp_path):
    pdf = tmp_path / "m.pdf"
    argv = ["monitor", str(screened["before"]), str(screened["after"]), "--lang", "zh"]
    assert main([*argv, "-o", str(pdf), "-q"]) == 0
    share, words = english_share(pdf)
    assert share < BOUND, words
    text = pdf_text(pdf)
    assert "评估建议：分布" in text  # a field by its label
    assert "recommendation" not in text and "dscr_forecast_min" not in text


def test_the_chinese_rules_diff_holds_no_english_and_names_the_rule_that_flips(diff_pdf):
    share, words = english_share(diff_pdf)
    assert share < BOUND and not words, words
    text = pdf_text(diff_pdf)
    assert "阈值" in text and "threshold" not in text
    flips = text[text.index("结论发生变化的项目") :]
    assert "CL-0113" in flips and "CMP-GB40879-LIMIT" in flips  # the related rule is named


def test_a_flip_without_a_verdict_change_names_the_rule_whose_pass_became_borderline(
    stricter_rules, capsys
):
    argv = ["rules", "diff", str(ROOT / "rules"), str(stricter_rules), "--portfolio"]
    assert main([*argv, str(CANDIDATES), "--as-of", AS_OF.isoformat()]) == 0
    printed = capsys.readouterr().out
    # PUE 1.40 passes <= 1.40 within the borderline margin: the verdict stays pass, the
    # recommendation moves to refer
    line = next(line for line in printed.splitlines() if "CL-0113 recommendation" in line)
    assert line.endswith("approve_with_conditions -> refer (CMP-GB40879-LIMIT)")


def test_the_chinese_summary_words_the_rejection_reasons(rejected_summary):
    rejected = pd.read_excel(
        rejected_summary / "screening.xlsx", sheet_name="Rejected", engine="calamine"
    )
    found = tuple(value for *_, value in map(reason_parts, _reasons(rejected)) if value)
    share, words = english_share(rejected_summary / "summary.pdf", data=found)
    assert share < BOUND, words
    text = pdf_text(rejected_summary / "summary.pdf")
    assert "年度实测PUE：超出允许范围" in text and "资本金：与总投资不一致" in text
    assert "4.2, 0.95" in text  # the values found, kept as examples


def test_the_chinese_scorecard_names_its_features_by_their_labels(trained_zh):
    pdf = trained_zh.with_suffix(".scorecard.pdf")
    share, words = english_share(pdf)
    assert share < BOUND, words
    text = pdf_text(pdf)
    assert "最低偿债覆盖率" in text and "杠杆率" in text
    assert "dscr_min" not in text and "leverage" not in text


def test_the_chinese_sweep_names_the_metric_by_its_label(tmp_path):
    sweep = sweep_rule([str(CANDIDATES)], "CMP-GB40879-LIMIT", [1.3, 1.5], as_of=AS_OF)
    _, _, pdf = write_sweep_outputs(sweep, tmp_path / "pue", lang="zh")
    text = pdf_text(pdf)
    assert "CMP-GB40879-LIMIT：评估PUE <= 阈值" in text and "阈值：评估PUE" in text
    assert "pue_assessed" not in text


def _reasons(rejected: pd.DataFrame) -> list[str]:
    return [part for text in rejected["reasons"].dropna() for part in str(text).split("; ")]


# -- the points one by one ----------------------------------------------------------------------
def test_rejection_reasons_are_grouped_by_field_and_problem_with_examples():
    rejected = pd.DataFrame(
        {
            "file": ["a.xlsx", "b.csv", "b.csv", "c.csv"],
            "reasons": [
                "pue: out of range (expected between 1 and 3, got -1)",
                "pue: out of range (expected between 1 and 3, got 999999999999999)",
                "pue: out of range (expected between 1 and 3, got -1); it_load_mw: missing",
                "equity_cny: inconsistent with total_investment_cny (expected equity no larger "
                "than total investment (total_investment_cny = 280,000,000), got 310000000)",
            ],
        }
    )
    results = pd.DataFrame(columns=["recommendation", "eligible", "score", "pd", "province",
                                    "hub"])  # fmt: skip
    table = summary_tables(results, rejected, rule_ids=[], titles={})["Rejection reasons"]
    first = table.iloc[0]
    assert (first["reason"], first["inputs"]) == ("pue: out of range", 3)  # ranked: one reason
    assert first["examples"] == "-1, 999999999999999" and first["files"] == "a.xlsx, b.csv"
    equity = table.set_index("field").loc["equity_cny"]
    assert equity["problem"] == "inconsistent with total_investment_cny"
    assert equity["examples"] == "310000000"
    assert reason_parts("no such file or folder") == ("", "no such file or folder", "")


def test_a_rate_reads_the_same_in_the_backtest_table_and_chart(backtest, tmp_path):
    found = copy.deepcopy(backtest)
    table = found.current.by_recommendation
    table.loc[table["recommendation"] == "approve", "outcome_rate"] = 0.0096
    text = pdf_text(write_backtest_pdf(found, tmp_path / "bt.pdf", "en"))
    first_page = text[: text.index("Outcome rate by programme verdict")]
    assert first_page.count("0.96%") == 2 and "1.0%\nApprove with" not in first_page


def _rules_frame(verdicts: dict[str, list[str]]) -> pd.DataFrame:
    size = len(next(iter(verdicts.values())))
    frame = pd.DataFrame(
        {
            "project_id": [f"P{i}" for i in range(size)],
            "recommendation": ["refer"] * size,
            "decision_reason": [""] * size,
        }
    )
    return frame.assign(**verdicts)


def test_the_rule_shift_chart_puts_the_longest_bar_first():
    before = _rules_frame({"R-A": ["pass"] * 5 + ["fail"] * 5, "R-B": ["pass"] * 10})
    after = _rules_frame(
        {"R-A": ["pass"] * 5 + ["insufficient"] * 5, "R-B": ["pass"] * 6 + ["fail"] * 4}
    )
    found = monitor(before, after, fields=pd.DataFrame(columns=["field", "kind", "group"]))
    assert found.rules["rule_id"].tolist() == ["R-B", "R-A"]  # by the pass rate's shift
    (drawing,) = _shift_charts(Look("zh"), found)
    labels = [s for s in drawing.contents if isinstance(s, String) and s.text.startswith("R-")]
    ordered = [s.text for s in sorted(labels, key=lambda s: -s.y)]
    assert ordered[0].startswith("R-A") and ordered[1].startswith("R-B")  # 50 pp, then 40 pp


def test_identical_inputs_say_no_change_and_nothing_more(screened, tmp_path):
    frame = read_screening(screened["after"])
    same = monitor(frame, frame)
    assert monitor_lines(same) == [Wording("en").words["monitor"]["no_change"]]
    pdf = write_monitor_pdf(same, tmp_path / "m.pdf", "zh")
    text = pdf_text(pdf)
    assert Look("zh").words["monitor"]["no_change"] in text.replace("\n", "")
    assert "基期" not in text.replace(Look("zh").words["monitor"]["no_change"], "")


def test_the_scorecard_sheet_holds_numbers_in_number_formats(trained_zh, capsys):
    book = openpyxl.load_workbook(trained_zh.with_suffix(".scorecard.xlsx"))
    facts = {row[0].value: row[1] for row in book["Scorecard"].iter_rows(min_row=2)}
    loans = facts["loans binned (bins, WoE, IV, points)"]
    assert loans.data_type == "n" and loans.number_format == "#,##0"
    assert facts["their event rate"].number_format.endswith("%")
    assert facts["AUC"].number_format == "0.0000"
    numbers_as_text = [
        cell.value
        for cell in facts.values()
        if isinstance(cell.value, str) and re.fullmatch(r"[\d,.]+%?", cell.value)
    ]
    assert not numbers_as_text
    bins = book["Bins"]
    header = [cell.value for cell in bins[1]]
    assert header[:2] == ["feature", "label"]
    lower, upper = header.index("lower") + 1, header.index("upper") + 1
    rows = list(bins.iter_rows(min_row=2))
    bounds = [row[col - 1] for row in rows for col in (lower, upper)]
    numbers = [cell for cell in bounds if isinstance(cell.value, float)]
    assert numbers and all(cell.number_format != "General" for cell in numbers)
    racks = next(row for row in rows if row[0].value == "racks")
    assert racks[1].value == "Standard racks" and racks[upper - 1].number_format == "#,##0"


def test_train_says_it_wrote_the_model_card(tmp_path, capsys):
    data = tmp_path / "history.csv"
    history(600).to_csv(data, index=False)
    model = tmp_path / "m.skops"
    argv = ["train", str(data), "--target", "defaulted", "-o", str(model), "--kind", "logistic"]
    assert main([*argv, "--no-scorecard"]) == 0
    captured = capsys.readouterr()
    said = captured.out + captured.err
    for suffix in (".card.json", ".card.md"):
        assert f"wrote {model.with_suffix(suffix)}" in said
        assert model.with_suffix(suffix).is_file()


@pytest.fixture(scope="module")
def workbook_zh(tmp_path_factory):
    path = tmp_path_factory.mktemp("score") / "x.xlsx"
    sample = SAMPLES / "04_beijing_retrofit_high_pue.xlsx"
    argv = ["score", str(sample), "--as-of", AS_OF.isoformat(), "--lang", "zh", "-o", str(path)]
    assert main([*argv, "-q"]) == 0
    return openpyxl.load_workbook(path)


def _verdict_row(book, rule_id: str) -> dict:
    sheet = book["规则结论"]
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("规则")].value == rule_id)
    return dict(zip(header, row, strict=True))


def test_the_chinese_workbook_words_set_thresholds_and_heads_the_formulas(workbook_zh):
    purpose = _verdict_row(workbook_zh, "GC-PURPOSE")
    assert purpose["阈值"].value == "建设; 改造; 再融资"  # not construction; retrofit; ...
    header = [cell.value for cell in workbook_zh["衍生指标"][1]]
    assert "计算公式（英文原文）" in header  # the formulas stay formulas, headed as such


def test_a_number_has_one_format_in_the_verdicts_and_its_own_sheet(workbook_zh):
    grade = _verdict_row(workbook_zh, "GC-CAT2021-DC-PUE")  # metric gb40879_grade
    indicators = workbook_zh["衍生指标"]
    row = next(r for r in indicators.iter_rows(min_row=2) if r[3].value == "gb40879_grade")
    assert grade["数值"].number_format == grade["阈值"].number_format == row[1].number_format
    assert row[1].number_format == "#,##0"


def test_a_fields_largest_move_is_its_bin_and_shares_worded_in_the_language(screened):
    fields = monitor(*(read_screening(screened[side]) for side in ("before", "after"))).fields
    row = fields.set_index("field").loc["recommendation"]
    assert row["largest_bin"] in RECOMMENDATIONS  # a code, worded by the reports
    assert 0 <= row["largest_baseline_share"] <= 1 and 0 <= row["largest_current_share"] <= 1
    zh = Wording("zh")
    assert bin_move(zh, "recommendation", "decline", 0.024, 0.0) == "拒绝：2.4% → 0.0%"
    assert bin_move(zh, "facility_type", "edge", 0.125, 0.129) == "边缘数据中心：12.5% → 12.9%"
    assert bin_move(zh, "dscr_forecast_min", "missing", 0.133, 0.962) == "缺失：13.3% → 96.2%"
    assert bin_move(zh, "pue_assessed", "[1.31, 1.38)", 0.1, 0.2) == "[1.31, 1.38)：10.0% → 20.0%"
    assert bin_move(Wording("en"), "hub", "", None, None) == "no change"


def test_the_monitors_notes_read_in_chinese_with_their_numbers_and_fields():
    zh = Wording("zh")
    phrases = zh.words["monitor"]["phrases"]
    note = "applies to no project in the baseline; share insufficient +83.0 pp"
    assert zh.phrase(note, phrases) == "基期无适用项目; 无法判定占比变化 +83.0 个百分点"
    assert zh.phrase("no column eligible in the current", phrases) == "当期无是否合格列"
    assert Wording("en").phrase(note, Wording("en").words["monitor"]["phrases"]) == note
