"""In the Chinese memo every text is Chinese: each rule's clause from its ``clause_zh``, each
source's title and issuer from ``title_zh`` and ``issuer_zh``; where a pack gives none (an older
or a user's pack), the English is shown after the marker of ``templates/report/zh.yaml``, and
``assess rules check`` warns of the rules that lack it."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from types import SimpleNamespace

import pytest
from helpers import AS_OF, ROOT

from assessment.cli import main
from assessment.criteria.indicators import INDICATORS
from assessment.criteria.rules import load_rules
from assessment.intake.dictionary import load_dictionary
from assessment.pipeline import project_records, score_applications
from assessment.reports.memo.facts import Memo
from assessment.reports.memo.write import write_report
from assessment.reports.pdf.style import Look

pypdf = pytest.importorskip("pypdf", reason="pypdf comes with the test extras")

MODEL = ROOT / "rules" / "model" / "default_model.skops"
SAMPLES = ("04_beijing_retrofit_high_pue.xlsx", "05_zhangjiakou_reit_ready.xlsx")  # Chinese sheets
CJK = re.compile(r"[\u3400-\u9fff]")
DOCUMENT_NUMBER = re.compile(r"〔\d{4}〕\d+号")
MARK = Look("zh").words["words"]["untranslated"]
# English words the memo may hold: what is left after codes (ids, field names, words with
# digits), acronyms (PUE, REITs), units and clause references (criteria §1.5) are set aside.
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'./-]*")
UNITS = {"MWh", "kWh", "GWh", "MW", "kW", "tCO2", "PFLOPS", "sha256"}
REFERENCE = re.compile(r"criteria\s*§")
MOST_ENGLISH = 0.005  # English words over English words and Chinese characters


def _text(path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def _flat(text: str) -> str:
    return "".join(text.split())


def _memo(tmp_path, sample: str, rules=None):
    """The Chinese memo's text and the project's record of a sample."""
    scored = score_applications(
        [ROOT / "sample_projects" / sample], as_of=AS_OF, rules=rules, model=MODEL
    )
    record = project_records(scored)[0]
    path = write_report(scored, record["project_id"], tmp_path / f"{sample}.pdf", "zh")
    return _text(path), record


def _english_words(text: str) -> list[str]:
    codes = set(load_dictionary().fields) | {i.name for i in INDICATORS}
    found = []
    for match in WORD.finditer(REFERENCE.sub(" ", text)):
        word = match.group().strip(".'-/")
        if len(word) < 2 or word in UNITS or word in codes or re.search(r"[\d_/]", word):
            continue
        if not re.fullmatch(r"[A-Z][A-Z-]*s?", word):  # an acronym or an id: not a word
            found.append(word)
    return found


def _english_share(text: str) -> float:
    words = len(_english_words(text))
    return words / (words + len(CJK.findall(text)))


def _without_chinese(folder):
    """A copy of the packaged rules as older packs are: no ``clause_zh`` column, no Chinese
    source titles or issuers."""
    shutil.copytree(ROOT / "rules", folder)
    for table in folder.glob("*/rules.csv"):
        rows = list(csv.reader(io.StringIO(table.read_text(encoding="utf-8"), newline="")))
        drop = rows[0].index("clause_zh")
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([r[:drop] + r[drop + 1 :] for r in rows])
        table.write_text(out.getvalue(), encoding="utf-8")
    for pack in folder.glob("*/pack.yaml"):
        lines = pack.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if not re.match(r"\s+(title|issuer)_zh:", line)]
        pack.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def memos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("memos")
    return {sample: _memo(folder, sample) for sample in SAMPLES}


@pytest.fixture(scope="module")
def older(tmp_path_factory):
    """The Beijing memo under packs without Chinese clauses, and the rules folder."""
    folder = tmp_path_factory.mktemp("older")
    rules = _without_chinese(folder / "rules")
    return (*_memo(folder, SAMPLES[0], rules), rules)


def test_every_shipped_rule_and_source_has_its_chinese():
    for pack in load_rules().packs:
        for rule in pack.rules:
            assert CJK.search(rule.clause_zh), rule.rule_id
            # document numbers are kept as they are: 工信厅联节函〔2025〕279号
            assert set(DOCUMENT_NUMBER.findall(rule.clause)) <= set(
                DOCUMENT_NUMBER.findall(rule.clause_zh)
            ), rule.rule_id
        for source_id, source in pack.sources.items():
            for key in ("title_zh", "issuer_zh"):
                assert CJK.search(str(source.get(key) or "")), (pack.id, source_id, key)


def test_the_chinese_memo_shows_each_clause_in_chinese(memos):
    text, record = memos[SAMPLES[0]]
    flat = _flat(text)
    shown = [r for r in record["rules"] if r["verdict"] != "not_applicable"]
    assert len(shown) > 20
    for rule in shown:
        chinese, english = _flat(rule["clause_zh"]), _flat(rule["clause"])
        assert f"{rule['source']}:{chinese[:30]}" in flat, rule["rule_id"]
        assert english[:30] not in flat, rule["rule_id"]
    assert MARK not in text
    reasons = [r for r in record["decision"]["reasons"] if r["kind"] == "rule"]
    assert reasons and all(r["clause_zh"] for r in reasons)  # page one reads them
    assert "GB40879-2021《数据中心能效限定值及能效等级》（国家市场监督管理总局" in flat  # annex


def test_a_rule_without_clause_zh_shows_its_english_clause_marked(older):
    text, record, _ = older
    flat = _flat(text)
    rule = next(r for r in record["rules"] if r["rule_id"] == "CMP-GB40879-LIMIT")
    assert rule["clause_zh"] == "" and rule["verdict"] != "not_applicable"
    assert f"{rule['source']}:{MARK}{_flat(rule['clause'])[:30]}" in flat
    assert f"{MARK}GB40879-2021数据中心能效限定值及能效等级" in flat  # a source's title too


def test_memo_clause_in_each_language():
    item = {"source": "GB40879", "clause": "Grade 2 = PUE ≤ 1.30", "clause_zh": "2级即PUE≤1.30"}
    english = {"source": "GB40879", "clause": "Grade 2 = PUE ≤ 1.30"}

    def memo(lang):
        return Memo(SimpleNamespace(look=Look(lang)), {})

    assert memo("zh").clause(item) == "GB40879: 2级即PUE≤1.30"
    assert memo("zh").clause(english) == "GB40879: （英文原文）Grade 2 = PUE ≤ 1.30"
    assert memo("en").clause(item) == memo("en").clause(english) == "GB40879: Grade 2 = PUE ≤ 1.30"
    assert memo("zh").clause({"source": "S", "clause": ""}) == "S: "  # nothing to mark


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_chinese_memo_holds_almost_no_english_words(memos, sample):
    text, _ = memos[sample]
    assert _english_share(text) < MOST_ENGLISH, sorted(set(_english_words(text)))


def test_the_english_clauses_would_fail_the_bound(older):
    text, _, _ = older
    assert _english_share(text) > 20 * MOST_ENGLISH  # the measure sees English clauses


def test_rules_check_warns_of_rules_without_clause_zh(older, capsys):
    *_, rules = older
    assert main(["rules", "check", str(rules)]) == 0  # a warning, not an error
    printed = capsys.readouterr().out
    assert "warning: pack compliance_cn: 3 rule(s) without clause_zh (CMP-GB40879-LIMIT" in printed
    assert printed.count("without clause_zh") == 7  # one line per pack
    assert main(["rules", "check", str(rules), "--format", "json"]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert len(warnings) == 7 and all("without clause_zh" in w for w in warnings)
    assert main(["rules", "check", str(ROOT / "rules")]) == 0
    assert "clause_zh" not in capsys.readouterr().out  # the shipped packs have every clause
