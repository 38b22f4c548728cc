"""Issue 19, where one person waits: ``assess --help`` loads no heavy library, ``assess score``
loads no writer it was not asked for and no model library (scikit-learn, skops, scipy), and
what is kept per process (the rule packs, the reference tables, the report templates) is read
again once its file changes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from helpers import AS_OF, ROOT

from assessment import add_indicators, load_rules, read_applications

SAMPLE = ROOT / "sample_projects" / "10_horinger_green_credit_ai.xlsx"
HEAVY = ("pandas", "numpy", "sklearn", "scipy", "skops", "reportlab", "openpyxl", "dask", "yaml")
WRITERS = ("reportlab", "openpyxl", "xlsxwriter", "matplotlib")
MODEL_LIBRARIES = ("sklearn", "skops", "scipy")  # the packaged gbm is scored compiled


def loaded_after(code: str, names: tuple[str, ...]) -> list[str]:
    """The libraries of ``names`` loaded by a new Python process after running ``code``."""
    probe = (
        f"{code}\n"
        "import json, sys\n"
        f"print(json.dumps(sorted(n for n in {names!r} if n in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["score", "--help"], ["--version"]])
def test_help_loads_no_heavy_library(argv):
    code = (
        "import contextlib, io\n"
        "from assessment.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    main({argv!r})\n"
    )
    assert loaded_after(code, HEAVY) == []


def test_the_cli_module_loads_no_heavy_library():
    assert loaded_after("import assessment.cli, assessment.__main__", HEAVY) == []


@pytest.mark.slow
def test_score_as_text_loads_no_writer_and_no_model_library():
    code = (
        "import contextlib, io\n"
        "from assessment.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = main(['score', 'sample_projects/10_horinger_green_credit_ai.xlsx',"
        " '--as-of', '2025-06-30'])\n"
        "assert code == 0, code\n"
    )
    assert loaded_after(code, WRITERS + MODEL_LIBRARIES) == []


# -- what is kept per process is read again once its file changes ------------------------------
def _rewrite(path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in a file, with a modification time of its own (a file system
    may keep one time for two writes in the same tick)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 10**9
    os.utime(path, ns=(stamp, stamp))


def test_an_edited_rule_pack_is_read_again(tmp_path):
    shutil.copytree(ROOT / "rules" / "green_dc_cn", tmp_path / "green_dc_cn")
    rules = tmp_path / "green_dc_cn" / "rules.csv"
    assert _threshold(load_rules(tmp_path), "GRN-PUE-GRADE2") == 1.30
    _rewrite(
        rules,
        "gb40879_in_scope == true,pue_assessed,<=,1.30,",
        "gb40879_in_scope == true,pue_assessed,<=,1.29,",
    )
    assert _threshold(load_rules(tmp_path), "GRN-PUE-GRADE2") == 1.29


def test_each_load_of_the_rules_gives_packs_of_its_own():
    first = load_rules()
    first.packs[0].rules.clear()
    first.packs.clear()
    again = load_rules()
    assert again.packs and all(pack.rules for pack in again.packs)
    assert len(again.rules) == len(load_rules().rules)


def _threshold(rule_set, rule_id: str) -> object:
    return next(rule.threshold for rule in rule_set.rules if rule.rule_id == rule_id)


def test_an_edited_reference_table_is_read_again(tmp_path):
    shutil.copytree(ROOT / "rules" / "reference", tmp_path, dirs_exist_ok=True)
    found = read_applications([SAMPLE], as_of=AS_OF)

    def wue_off_range() -> float:
        frame = add_indicators(found.projects, found.yearly, AS_OF, reference_dir=tmp_path)
        return float(frame["wue_off_range"].iloc[0])

    assert wue_off_range() == 0.0  # 0.4 L/kWh, no cooling type given: inside 0-3.0
    ranges = tmp_path / "plausible_ranges.csv"
    _rewrite(ranges, "wue_l_per_kwh,cooling_type,,0,3.0,", "wue_l_per_kwh,cooling_type,,0,0.3,")
    assert wue_off_range() == pytest.approx(0.1)


def test_an_edited_report_template_is_read_again_and_each_caller_has_its_own(tmp_path):
    from assessment.reports.templates import load_template

    (tmp_path / "report").mkdir()
    words = tmp_path / "report" / "en.yaml"
    shutil.copyfile(ROOT / "templates" / "report" / "en.yaml", words)
    first = load_template("en.yaml", tmp_path)
    assert first["title"] == "Financing assessment memo"
    first["title"] = "changed by a caller"
    assert load_template("en.yaml", tmp_path)["title"] == "Financing assessment memo"
    _rewrite(words, "title: Financing assessment memo", "title: Credit memo")
    assert load_template("en.yaml", tmp_path)["title"] == "Credit memo"
