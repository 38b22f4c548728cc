"""Outputs people read (issue 17, first part): a rejected input names the cells its errors
are in, and the summary's rejection table names the files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import AS_OF, ROOT

from assessment.screening.batch import screen_inputs
from assessment.screening.records import Settings
from assessment.screening.summary import summary_tables
from assessment.workbench.monitor import read_screening

BROKEN = ROOT / "sample_projects" / "broken"


@pytest.fixture(scope="module")
def screening():
    return screen_inputs([BROKEN], Settings(as_of=AS_OF, model=None), jobs=1)


@pytest.fixture(scope="module")
def rejected(screening) -> pd.DataFrame:
    return screening.rejected.set_index("project_id")


def test_a_rejected_workbook_names_the_cells_of_its_errors(rejected):
    # sample_projects/source/projects.toml: DC-2025-012 has a PUE of 0.95 and more equity
    # than investment; the form's row is blank (a form has no row), its cells are not
    assert rejected.at["DC-2025-012", "cell"] == "B19; B33"
    assert rejected.at["DC-2025-012", "sheet"] == "Project"
    assert rejected.at["DC-2025-015", "cell"] == "B6"  # the province "Guizhuo"
    assert rejected.at["CL-0107", "cell"] == "P5"  # a list row: its cell and row


def test_the_cells_follow_the_reasons(rejected):
    for project_id, row in rejected.iterrows():
        cells = [c for c in str(row["cell"]).split("; ") if c]
        assert len(cells) == len(str(row["reasons"]).split("; ")), project_id


def test_the_summary_names_the_files_of_each_rejection_reason(screening):
    results, frame = screening.results, screening.rejected
    tables = summary_tables(results, frame, rule_ids=[], titles={})
    reasons = tables["Rejection reasons"].set_index("reason")
    pue = reasons.loc["pue: out of range"]  # one reason, whatever the values found
    assert pue["files"] == "12_broken_pue_and_equity.xlsx, candidate_rows_with_errors.xlsx"
    many = pd.DataFrame(
        {"file": [f"folder/f{i}.csv" for i in range(5)], "reasons": ["x: wrong"] * 5}
    )
    table = summary_tables(results, many, rule_ids=[], titles={})["Rejection reasons"]
    assert table.loc[0, "files"] == "f0.csv, f1.csv, f2.csv +2" and table.loc[0, "inputs"] == 5


@pytest.fixture(scope="module")
def screened_folders(tmp_path_factory) -> dict:
    """The plausibility-check list (17 projects) screened in English and Chinese."""
    from assessment.cli import main

    found = {}
    for lang in ("en", "zh"):
        out = tmp_path_factory.mktemp(f"screen_{lang}")
        args = ["screen", str(CHECKS), "-o", str(out), "--as-of", "2025-06-30", "--lang", lang]
        assert main([*args, "--no-model"]) == 0
        found[lang] = out
    return found


CHECKS = ROOT / "sample_projects" / "candidates" / "plausibility_checks.csv"


@pytest.mark.parametrize(
    ("lang", "province", "hub"),
    [("en", "Hebei", "Beijing-Tianjin-Hebei"), ("zh", "河北", "京津冀")],
)
def test_places_are_shown_by_their_names_in_the_language_asked(
    screened_folders, lang, province, hub
):
    from pypdf import PdfReader

    folder = screened_folders[lang]
    sheet = read_screening(folder / "screening.xlsx")  # the table under the heading line
    row = sheet.set_index("project_id").loc["PC-01"]
    assert (row["province"], row["hub"]) == ("hebei", "beijing_tianjin_hebei")  # keys stay
    assert (row["province_name"], row["hub_name"]) == (province, hub)
    assert sheet.columns.get_loc("province_name") == sheet.columns.get_loc("province") + 1
    text = " ".join(page.extract_text() for page in PdfReader(folder / "summary.pdf").pages)
    assert province in text and hub in text
    assert "beijing_tianjin_hebei" not in text and "hebei" not in text.replace(province, "")


def test_a_redacted_screen_names_no_sponsor_and_no_folder(tmp_path):
    """`assess screen --redact` writes a version that can leave the bank."""
    import json

    from pypdf import PdfReader

    from assessment.cli import main

    inputs = tmp_path / "bank share" / "desk 7"
    inputs.mkdir(parents=True)
    sample = ROOT / "sample_projects" / "01_guizhou_guian_hyperscale.xlsx"
    (inputs / sample.name).write_bytes(sample.read_bytes())
    (inputs / "bad.csv").write_text("project_id,pue\nX-1,9\n", encoding="utf-8")
    texts = {}
    for redact in (False, True):
        out = tmp_path / f"out_{redact}"
        args = ["screen", str(tmp_path / "bank share"), "-o", str(out), "--as-of", "2025-06-30"]
        assert main([*args, "--reports", "--no-model", *(["--redact"] if redact else [])]) == 2
        memo = out / "reports" / "DC-2025-001.pdf"
        sheet = pd.read_excel(out / "screening.xlsx", sheet_name=None, engine="openpyxl")
        sheet["Screening"] = read_screening(out / "screening.xlsx")
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        texts[redact] = (
            " ".join(page.extract_text() for page in PdfReader(memo).pages),
            sheet["Screening"],
            sheet["Rejected"],
            manifest,
        )
    memo, screening, rejected, manifest = texts[True]
    assert "Guizhou Qianyun" in texts[False][0] and "Guizhou Qianyun" not in memo
    assert "source_file" in texts[False][1] and "source_file" not in screening
    assert rejected["file"].tolist() == ["bad.csv"]
    assert {item["path"] for item in manifest["inputs"]} == {"bad.csv", sample.name}
    assert manifest["redacted"] is True and "desk 7" not in json.dumps(manifest)


def test_the_memo_ends_with_an_approval_block_the_officer_fills(tmp_path):
    from pypdf import PdfReader

    from assessment.cli import main

    sample = ROOT / "sample_projects" / "05_zhangjiakou_reit_ready.xlsx"
    for lang, words in (
        ("en", ("Approval", "Prepared by", "Reviewed by")),
        ("zh", ("审批", "经办人", "审核人")),
    ):
        memo = tmp_path / f"memo_{lang}.pdf"
        args = ["score", str(sample), "--as-of", "2025-06-30", "-o", str(memo), "--lang", lang]
        assert main([*args, "--officer", "Li Wei"]) == 0
        pages = PdfReader(memo).pages
        last = " ".join(page.extract_text() for page in pages[-2:])
        assert all(word in last for word in words), lang
        assert "Li Wei" in last  # the first line, filled
        block = last[last.index(words[0]) :]
        assert "Li Wei" in block and block.index(words[1]) < block.index("Li Wei")
    unnamed = tmp_path / "unnamed.pdf"
    assert main(["score", str(sample), "--as-of", "2025-06-30", "-o", str(unnamed)]) == 0
    assert "Li Wei" not in " ".join(page.extract_text() for page in PdfReader(unnamed).pages)


def test_a_year_is_never_printed_with_a_thousands_separator(tmp_path):
    """The memo of a listed national green DC (its listing year 2023) and of a project with
    an emission-factor year: years print as 2023, amounts keep their separators."""
    import re

    from pypdf import PdfReader

    from assessment.pipeline import score_applications
    from assessment.reports.memo.write import write_report

    scored = score_applications(CHECKS, as_of="2025-06-30", model=None)
    pdf = write_report(scored, "PC-15", tmp_path / "memo.pdf")
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "2,023" not in text and "2,022" not in text  # the listing and the factor year
    assert re.search(r"list year\s+2023", text)
    assert "4,000" in text  # an amount keeps its separator (racks)


def test_the_pass_rate_chart_names_each_rule_and_splits_fail_from_undecided(screened_folders):
    """Each bar carries the rule's title and three colours: pass, fail, cannot be decided
    (the summary's pass rate is pass / (pass + fail + insufficient), as its note says)."""
    import pypdfium2 as pdfium
    from pypdf import PdfReader

    from assessment.reports.pdf.style import Look

    summary = screened_folders["en"] / "summary.pdf"
    first = PdfReader(summary).pages[0].extract_text()
    assert "PLB-GREEN-EVIDENCE A claimed green-power" in " ".join(first.split())
    assert "green passes, red fails, yellow cannot be decided" in " ".join(first.split())
    image = pdfium.PdfDocument(str(summary))[0].render(scale=1).to_pil().convert("RGB")
    colours = {
        tuple(int(Look("en").style["colours"][k][i : i + 2], 16) for i in (1, 3, 5)): k
        for k in ("pass", "fail", "insufficient")
    }
    pixels = {tuple(p) for p in np.asarray(image).reshape(-1, 3)}
    seen = {colours[pixel] for pixel in pixels if pixel in colours}
    assert seen == {"pass", "fail", "insufficient"}


def test_monitor_says_no_change_for_identical_inputs(screened_folders, tmp_path, capsys):
    from pypdf import PdfReader

    from assessment.cli import main

    same = screened_folders["en"]
    assert main(["monitor", str(same), str(same), "-o", str(tmp_path / "m.pdf")]) == 0
    printed = capsys.readouterr().out
    assert printed.strip().lower().startswith("no change:")  # and nothing more (README)
    assert printed.strip().splitlines()[1:] == [f"wrote {tmp_path / 'm.pdf'}"]
    pdf = PdfReader(tmp_path / "m.pdf")
    assert len(pdf.pages) == 1 and "No change:" in pdf.pages[0].extract_text()
    other = tmp_path / "other"
    sample = ROOT / "sample_projects" / "05_zhangjiakou_reit_ready.xlsx"
    assert main(["screen", str(sample), "-o", str(other), "--as-of", "2025-06-30"]) == 0
    capsys.readouterr()
    assert main(["monitor", str(same), str(other)]) == 0
    printed = capsys.readouterr().out
    assert "no change:" not in printed.lower() and "Rules: pass rate" in printed


def test_the_pue_chart_starts_near_the_smallest_limit_and_names_the_value(tmp_path):
    import re

    from pypdf import PdfReader

    from assessment.pipeline import score_applications
    from assessment.reports.memo.write import write_report

    sample = ROOT / "sample_projects" / "10_horinger_green_credit_ai.xlsx"
    scored = score_applications(sample, as_of="2025-06-30", model=None)
    pdf = write_report(scored, "DC-2025-010", tmp_path / "memo.pdf")
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    origin = float(re.search(r"the axis starts at ([\d.]+)", text).group(1))
    assert 1.0 <= origin < 1.18  # below the project's PUE 1.18 and every limit, above 0
    assert re.search(r"PUE assessed 1\.18", text)  # the project's bar, its value named


def test_rules_check_warns_of_a_title_and_a_version_that_do_not_follow_the_rules(tmp_path, capsys):
    import shutil

    from assessment.cli import main

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    assert main(["rules", "check", str(rules)]) == 0
    assert "warning" not in capsys.readouterr().out  # a copy as it is: nothing to say
    table = rules / "green_dc_cn" / "rules.csv"
    text = table.read_text(encoding="utf-8")
    assert text.count(",wue_l_per_kwh,<=,2.5,") == 1
    table.write_text(
        text.replace(",wue_l_per_kwh,<=,2.5,", ",wue_l_per_kwh,<=,2.0,"), encoding="utf-8"
    )
    assert main(["rules", "check", str(rules)]) == 0  # warnings, not errors
    printed = capsys.readouterr().out
    assert "warning: GRN-WUE: the title states 2.5 but the threshold is 2" in printed
    assert "warning: pack green_dc_cn: its rules differ" in printed and "2026.1" in printed
    pack = rules / "green_dc_cn" / "pack.yaml"
    pack.write_text(
        pack.read_text(encoding="utf-8").replace('"2026.1"', '"2026.2"'), encoding="utf-8"
    )
    assert main(["rules", "check", str(rules), "--format", "json"]) == 0
    import json

    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith("warning: GRN-WUE")


def test_years_and_cover_ratios_are_written_as_people_write_them(tmp_path):
    """ "6.25 years" (not 6.248), a DSCR "1.62x" in the figures and the criteria tables."""
    import re

    from pypdf import PdfReader

    from assessment.pipeline import score_applications
    from assessment.reports.memo.write import write_report

    sample = ROOT / "sample_projects" / "10_horinger_green_credit_ai.xlsx"
    scored = score_applications(sample, as_of="2025-06-30", model=None)
    pdf = write_report(scored, "DC-2025-010", tmp_path / "memo.pdf")
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    assert re.search(r"DSCR minimum, forecast \(proposed loan\) \d\.\d\dx", text)
    assert re.search(r"CR-DSCR-MIN.*?pass \d\.\d\dx >= 1\.2x", text)
    assert not re.search(r"\d\.\d{3,} years", text)
