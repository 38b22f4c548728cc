"""Rule packs that are broken or hostile: each file is built for real and refused with its
place (file, row, column), like every other rule error; `assess rules check` lists the
problems and `assess score --rules` refuses them with the same lines."""

from __future__ import annotations

import csv
import io
import shutil
import time

import pytest
from helpers import ROOT

from assessment.cli import main
from assessment.criteria import rules as rules_module
from assessment.criteria.cases import run_cases
from assessment.criteria.rules import load_rules
from assessment.errors import RuleError

RULES = ROOT / "rules"
SAMPLE = ROOT / "sample_projects" / "05_zhangjiakou_reit_ready.xlsx"


def _copy(tmp_path, name="credit_policy"):
    target = tmp_path / name
    shutil.copytree(RULES / name, target)
    return target


def _set_cell(path, row, column, value):
    """Write ``value`` into one cell of a CSV file (row 2 is the first row under the header)."""
    records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    records[row - 1][records[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(records)
    path.write_text(out.getvalue(), encoding="utf-8")


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _cell(row, column, value):
    return lambda pack: _set_cell(pack / "rules.csv", row, column, value)


def _yaml(old, new):
    return lambda pack: _edit(pack / "pack.yaml", old, new)


def _bytes(data: bytes, name="rules.csv"):
    return lambda pack: (pack / name).write_bytes(data)


def _alias_bomb(pack):
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    levels += [
        f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    text = (pack / "pack.yaml").read_text(encoding="utf-8")
    (pack / "pack.yaml").write_text("\n".join(levels) + "\n" + text, encoding="utf-8")
    _edit(pack / "pack.yaml", "title_en: Lender", "title_en: *i\nnote: Lender")


def _huge(pack):
    with (pack / "rules.csv").open("r+b") as handle:  # sparse: nothing is written
        handle.truncate(rules_module.MAX_RULE_FILE_BYTES + 1)


def _cp1252(pack):
    text = (pack / "rules.csv").read_text(encoding="utf-8")
    text = "".join(c for c in text if ord(c) < 128).replace("engine default", "d\u00e9faut")
    (pack / "rules.csv").write_bytes(text.encode("cp1252"))


def _bad_score_weight(pack):
    records = list(csv.reader(io.StringIO((pack / "rules.csv").read_text(encoding="utf-8"))))
    row = next(n for n, r in enumerate(records, 1) if r[records[0].index("severity")] == "score")
    _set_cell(pack / "rules.csv", row, "weight", "nan")
    return row


# name: (how to break a copy of credit_policy, file, row, column, words of the message)
CASES = {
    "5000 nested brackets": (
        _cell(2, "applies_when", "(" * 5000 + "dscr_min > 1" + ")" * 5000),
        "rules.csv",
        2,
        "applies_when",
        "a cell of 10,012 characters",
    ),
    "1000 nested brackets": (
        _cell(2, "applies_when", "(" * 1000 + "dscr_min > 1" + ")" * 1000),
        "rules.csv",
        2,
        "applies_when",
        "nested deeper than 50 levels",
    ),
    "a field over the csv field limit": (
        _cell(3, "title_en", "x" * 200_000),
        "rules.csv",
        3,
        "title_en",
        "a cell of 200,000 characters",
    ),
    "an impossible date in a rule": (
        _cell(2, "valid_from", "2024-02-30"),
        "rules.csv",
        2,
        "valid_from",
        "not a date",
    ),
    "an impossible effective date": (
        _yaml("effective_from: 2015-09-09", "effective_from: 2024-02-30"),
        "pack.yaml",
        "",
        "effective_from",
        "not a date",
    ),
    "threshold nan": (_cell(2, "threshold", "nan"), "rules.csv", 2, "threshold", "not a finite"),
    "threshold inf": (_cell(2, "threshold", "inf"), "rules.csv", 2, "threshold", "not a finite"),
    "threshold 1e400": (
        _cell(2, "threshold", "1e400"),
        "rules.csv",
        2,
        "threshold",
        "not a finite",
    ),
    "a condition with 1e400": (
        _cell(2, "applies_when", "dscr_min > 1e400"),
        "rules.csv",
        2,
        "applies_when",
        "inf is not a finite number",
    ),
    "a grade's min_score nan": (
        _yaml("min_score: 85", "min_score: .nan"),
        "pack.yaml",
        "",
        "grades",
        "finite numeric",
    ),
    "an empty rules.csv": (_bytes(b""), "rules.csv", 1, "", "the table is empty"),
    "a rules.csv of only a header": (
        lambda pack: (pack / "rules.csv").write_text(
            ",".join(rules_module.RULE_COLUMNS) + "\n", encoding="utf-8"
        ),
        "rules.csv",
        2,
        "",
        "no rule rows",
    ),
    "a header lacking a column": (
        lambda pack: _edit(pack / "rules.csv", ",metric,", ",metirc,"),
        "rules.csv",
        1,
        "metric",
        "the header lacks column 'metric'",
    ),
    "a cell beyond the header": (
        lambda pack: _edit(pack / "rules.csv", "\nCR-DSCR-MIN,", "\nCR-DSCR-MIN,extra,"),
        "rules.csv",
        2,
        f"{len(rules_module.RULE_COLUMNS) + 1} (no header)",
        "a cell beyond the last header column",
    ),
    "a YAML alias bomb": (_alias_bomb, "pack.yaml", 1, "4", "anchors and aliases"),
    "YAML nested 5000 deep": (
        _bytes(b"title_en: " + b"[" * 5000 + b"]" * 5000 + b"\n", "pack.yaml"),
        "pack.yaml",
        1,
        "30",
        "nested deeper than 20 levels",
    ),
    "sources that are not a list": (
        _yaml("sources:\n", "sources: GUOFA2015-51\nunused:\n"),
        "pack.yaml",
        "",
        "sources",
        "sources must be list",
    ),
    "a cp1252 rules.csv": (_cp1252, "rules.csv", 2, "", "not UTF-8 text"),
    "a binary file named rules.csv": (
        _bytes(bytes(range(256)) * 40),
        "rules.csv",
        1,
        "",
        "a binary file",
    ),
    "a missing pack.yaml": (
        lambda pack: (pack / "pack.yaml").unlink(),
        "pack.yaml",
        "",
        "",
        "no pack.yaml",
    ),
    "a rules.csv past the size limit": (_huge, "rules.csv", "", "", "over 2,097,152"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_hostile_rule_pack_is_refused_with_its_place(name, tmp_path):
    build, file, row, column, words = CASES[name]
    pack = _copy(tmp_path)
    build(pack)
    started = time.perf_counter()
    with pytest.raises(RuleError) as error:
        load_rules(tmp_path)
    assert time.perf_counter() - started < 5
    problems = error.value.problems
    assert [(p["row"], p["column"]) for p in problems] == [(row, column)], problems
    assert problems[0]["file"] == str(pack / file) and words in problems[0]["message"]
    lines = str(error.value).splitlines()
    assert lines[0] == "1 problem(s) in the rules:" and lines[1].startswith(str(pack / file))


def test_a_weight_of_nan_is_refused(tmp_path):
    pack = _copy(tmp_path)
    row = _bad_score_weight(pack)
    with pytest.raises(RuleError) as error:
        load_rules(pack)
    assert [(p["row"], p["column"]) for p in error.value.problems] == [(row, "weight")]


def test_a_segment_threshold_of_nan_is_refused(tmp_path):
    pack = _copy(tmp_path, "green_dc_cn")
    _edit(pack / "segments" / "rack_utilisation.csv", "true,65,%", "true,nan,%")
    with pytest.raises(RuleError) as error:
        load_rules(pack)
    found = {(p["file"], p["row"], p["column"]) for p in error.value.problems}
    assert (str(pack / "segments" / "rack_utilisation.csv"), 2, "threshold") in found


def test_a_bom_is_read_as_utf8(tmp_path):
    pack = _copy(tmp_path)
    data = (pack / "rules.csv").read_bytes()
    (pack / "rules.csv").write_bytes(b"\xef\xbb\xbf" + data)
    assert len(load_rules(pack).rules) == len(load_rules(RULES / "credit_policy").rules)


def test_a_pack_without_pack_yaml_is_reported_not_skipped(tmp_path):
    _copy(tmp_path)
    orphan = _copy(tmp_path, "green_credit_cn")
    (orphan / "pack.yaml").unlink()
    with pytest.raises(RuleError, match="no pack.yaml in the pack"):
        load_rules(tmp_path)


def test_a_case_with_text_for_a_number_is_named(tmp_path):
    pack = _copy(tmp_path)
    _set_cell(pack / "cases.csv", 2, "dscr_forecast_min", "lots")
    with pytest.raises(RuleError) as error:
        run_cases(load_rules(pack))
    assert [(p["row"], p["column"]) for p in error.value.problems] == [(2, "dscr_forecast_min")]


@pytest.mark.parametrize("name", ["threshold nan", "a YAML alias bomb", "an empty rules.csv"])
def test_rules_check_and_score_list_the_same_lines(name, tmp_path, capsys):
    build, *_ = CASES[name]
    build(_copy(tmp_path))
    assert main(["rules", "check", str(tmp_path)]) == 1
    checked = capsys.readouterr().err.splitlines()
    assert checked[0] == "assess rules check: error: 1 problem(s) in the rules:"
    argv = ["score", "--rules", str(tmp_path), str(SAMPLE), "--as-of", "2025-06-30"]
    assert main(argv) == 1
    scored = capsys.readouterr().err.splitlines()
    assert scored[1:] == checked[1:] and len(checked) == 2


def test_a_table_of_junk_stops_being_checked_after_the_limit(tmp_path):
    pack = _copy(tmp_path)
    junk = "\n".join(",".join(f"x{row}c{col}" for col in range(20)) for row in range(400))
    header = ",".join(rules_module.RULE_COLUMNS)
    (pack / "rules.csv").write_text(f"{header}\n{junk}\n", encoding="utf-8")
    with pytest.raises(RuleError) as error:
        load_rules(pack)
    problems = error.value.problems
    assert len(problems) <= rules_module.MAX_PROBLEMS + len(rules_module.RULE_COLUMNS)  # a row
    assert problems[-1]["message"] == "checking stopped after 500 problems"


def test_a_text_file_named_rules_xlsx_is_named(tmp_path):
    pack = _copy(tmp_path)
    (pack / "rules.csv").unlink()
    (pack / "rules.xlsx").write_text("rule_id,programme\n", encoding="utf-8")
    with pytest.raises(RuleError) as error:
        load_rules(pack)
    [problem] = error.value.problems
    assert problem["file"] == str(pack / "rules.xlsx")
    assert problem["message"].startswith("cannot read the workbook")


@pytest.mark.parametrize(
    ("data", "row", "words"),
    [(b"", 1, "the table is empty"), (b"\xff\xfe\x00c\x00a", 1, "a binary file")],
)
def test_a_hostile_cases_csv_is_named(data, row, words, tmp_path):
    pack = _copy(tmp_path)
    (pack / "cases.csv").write_bytes(data)
    with pytest.raises(RuleError) as error:
        run_cases(load_rules(pack))
    [problem] = error.value.problems
    assert problem["file"] == str(pack / "cases.csv") and problem["row"] == row
    assert words in problem["message"]


def test_a_segment_name_cannot_leave_the_pack(tmp_path):
    pack = _copy(tmp_path, "green_dc_cn")
    _edit(pack / "rules.csv", ">=,,,rack_utilisation,", ">=,,,../../credit_policy/rules,")
    with pytest.raises(RuleError) as error:
        load_rules(pack)
    [problem] = error.value.problems
    assert problem["column"] == "segment" and "not a path" in problem["message"]


def test_a_report_template_with_an_alias_bomb_is_refused_quickly(tmp_path):
    from assessment.errors import AssessmentError
    from assessment.reports.pdf.style import load_template

    (tmp_path / "report").mkdir()
    letters = "abcdefghi"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for this, before in zip(letters[1:], letters, strict=False):
        lines.append(f"{this}: &{this} [{', '.join(['*' + before] * 9)}]")
    (tmp_path / "report" / "en.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(AssessmentError, match="anchors and aliases"):
        load_template("en.yaml", tmp_path)
    assert time.monotonic() - started < 5
