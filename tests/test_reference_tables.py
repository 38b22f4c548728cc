"""The reference tables an analyst edits (rules/reference/, or a rules folder's own
reference/): a folder's own tables are the ones read, and a table that is wrong is refused by
`assess rules check` and by the scoring alike, naming file, row, column, expected and got."""

from __future__ import annotations

import shutil

import pytest
from helpers import ROOT

from assessment.cli import main
from assessment.criteria.reference import check_reference, load_reference
from assessment.criteria.rules import load_rules
from assessment.errors import RuleError
from assessment.pipeline import score_applications

SAMPLE = ROOT / "sample_projects" / "10_horinger_green_credit_ai.xlsx"


@pytest.fixture
def reference(tmp_path):
    """A copy of the packaged rules folder: its reference/ folder, to break."""
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    return tmp_path / "rules" / "reference"


def edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_folders_own_reference_tables_are_the_ones_read(reference):
    floors = reference / "pue_climate_floors.csv"
    rows = floors.read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    at = header.index("min_pue")
    rows = [
        rows[0],
        *(",".join(r.split(",")[:at] + ["2.0"] + r.split(",")[at + 1 :]) for r in rows[1:]),
    ]
    floors.write_text("\n".join(rows) + "\n", encoding="utf-8")
    packaged = score_applications(SAMPLE, as_of="2025-06-30", model=None)
    own = score_applications(SAMPLE, as_of="2025-06-30", model=None, rules=reference.parent)
    assert packaged.evaluation.verdicts["PLB-PUE-CLIMATE-FLOOR"].iloc[0] == "pass"
    assert own.evaluation.verdicts["PLB-PUE-CLIMATE-FLOOR"].iloc[0] == "fail"
    assert own.frame["pue_climate_floor"].iloc[0] == 2.0


@pytest.mark.parametrize(
    ("table", "old", "new", "said"),
    [
        ("climate_zones.csv", "\nhebei,cold,", "\nhebei,cld,", "column climate_zone: unknown code"),
        ("climate_zones.csv", "\nhebei,", "\nhebie,", "column province: unknown code; expected"),
        ("pue_climate_floors.csv", "cold,air,1.18", "cold,air,0.95", "a PUE floor below 1"),
        ("pue_climate_floors.csv", "cold,liquid,1.04", "cold,liquidd,1.04", "got liquidd"),
        (
            "pue_climate_floors.csv",
            "cold,hybrid,",
            "cold,air,",
            "the same climate_zone and cooling_type",
        ),
        (
            "plausible_ranges.csv",
            "cooling_type,air,0,0.5",
            "cooling_type,air,0.6,0.5",
            "low above high",
        ),
        (
            "plausible_ranges.csv",
            "cooling_type,air,",
            "cooling,air,",
            "not the field its indicator",
        ),
        (
            "plausible_ranges.csv",
            "\nwue_l_per_kwh,",
            "\nwue_per_kwh,",
            "column indicator: unknown code",
        ),
    ],
)
def test_a_wrong_reference_table_is_refused_by_check_and_score(
    reference, capsys, table, old, new, said
):
    edit(reference / table, old, new)
    with pytest.raises(RuleError, match=said) as error:
        load_reference(reference)
    assert f"{table}, row " in str(error.value)
    assert main(["rules", "check", str(reference.parent)]) == 1
    assert said in capsys.readouterr().err
    with pytest.raises(RuleError, match=said):
        score_applications(SAMPLE, as_of="2025-06-30", model=None, rules=reference.parent)


def test_an_empty_table_is_named_not_a_crash(reference):
    (reference / "climate_zones.csv").write_text("", encoding="utf-8")
    with pytest.raises(RuleError, match="climate_zones.csv: the table is empty"):
        load_reference(reference)


def test_the_packaged_tables_pass_and_rules_check_says_so():
    assert check_reference().startswith("reference: 7 tables")


def test_a_misspelt_province_in_a_local_rule_is_refused(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    edit(
        rules / "local_cn" / "rules.csv",
        "province_assessed == beijing",
        "province_assessed == bejing",
    )
    with pytest.raises(RuleError, match="bejing"):
        load_rules(rules)
