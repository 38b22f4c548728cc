"""A verdict is not given on a doubted value, and every application has a data-quality score
(issue 16). The applications are written as a CSV list, read with the real reader and scored
with the shipped rules and decision tables (rules/decision/doubts.csv, data_quality.csv)."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest
from helpers import ROOT, SOUND_LOAN, write_list
from pypdf import PdfReader

from assessment.cli import score_json
from assessment.criteria.rules import load_rules
from assessment.decision.decide import check_decision_tables
from assessment.decision.doubts import load_doubts
from assessment.decision.quality import load_formula
from assessment.errors import RuleError
from assessment.pipeline import score_applications, score_read
from assessment.reports.memo.write import write_report
from assessment.screening.summary import summary_tables

AS_OF = dt.date(2025, 9, 30)
# An operating green DC in the Zhangjiakou cluster asking for a green refinancing: PUE 1.22
# measured against 1.25 designed, its 50 % green share backed by certificates.
BASE = {
    "project_name": "Doubt test",
    "province": "hebei",
    "hub": "beijing_tianjin_hebei",
    "cluster": "zhangjiakou",
    "facility_type": "general",
    "project_kind": "operating",
    "financing_purpose": "refinancing",
    "operating_since": "2019-06-01",
    "racks": 4000,
    "it_load_mw": 10,
    "rack_utilisation": 0.75,
    "pue": 1.22,
    "pue_design": 1.25,
    "it_energy_mwh": 60000,
    "green_power_share": 0.5,
    "green_certificates_mwh": 36_600,  # 0.5 x 60,000 MWh x PUE 1.22
    "wue_l_per_kwh": 0.5,
    **SOUND_LOAN,
    "major_violations_3y": "false",
    "green_label_requested": "yes",
    "glp_use_of_proceeds": "true",
    "glp_evaluation_process": "true",
    "glp_proceeds_management": "true",
    "glp_reporting": "true",
    **{f"operating_cash_flow_cny_{year}": 120_000_000 for year in range(2022, 2028)},
    **{f"debt_service_cny_{year}": 80_000_000 for year in range(2022, 2028)},
    **{f"net_profit_cny_{year}": 30_000_000 for year in range(2022, 2025)},
}
ROWS = {
    "clean": {},
    # measured 8 % below design, no bill: the metering boundary is doubted
    "below_design": {"pue": 1.15, "green_certificates_mwh": 34_500},
    # the same PUE confirmed by the year's bill (60,000 MWh x 1.15)
    "billed": {"pue": 1.15, "green_certificates_mwh": 34_500, "facility_energy_billed_mwh": 69_000},
    # a bill 16 % above IT energy x PUE: the PUE is doubted
    "bill_mismatch": {"pue": 1.15, "facility_energy_billed_mwh": 80_000},
    # an 85 % share, evidenced or not
    "share_evidenced": {"green_power_share": 0.85, "green_certificates_mwh": 62_220},
    "share_claimed": {"green_power_share": 0.85, "green_certificates_mwh": ""},
    "no_label": {"pue": 1.15, "green_label_requested": "no"},
    "gaps": {"rack_utilisation": "", "it_load_mw": "", "wue_l_per_kwh": ""},
}


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    rows = [BASE | {"project_id": name} | row for name, row in ROWS.items()]
    path = write_list(tmp_path_factory.mktemp("doubts") / "list.csv", rows)
    run = score_applications(path, as_of=AS_OF, model=None)
    assert run.applications.problems.query("severity == 'error'").empty
    return run


@pytest.fixture(scope="module")
def records(scored) -> dict:
    return {p["project_id"]: p for p in score_json(scored)["projects"]}


def verdict(record: dict, rule_id: str) -> str:
    return next(r["verdict"] for r in record["rules"] if r["rule_id"] == rule_id)


def test_a_clean_application_is_granted_its_label(records):
    record = records["clean"]
    assert not any(r["withheld"] for r in record["rules"])
    assert verdict(record, "PLB-PUE-BELOW-DESIGN") == "pass"
    assert record["decision"]["green_label"]["status"] == "granted", record["decision"]
    assert record["programmes"]["green"]["status"] == "eligible"


@pytest.mark.parametrize(
    ("name", "flag"),
    [("below_design", "PLB-PUE-BELOW-DESIGN"), ("bill_mismatch", "PLB-FACILITY-ENERGY")],
)
def test_a_label_resting_on_a_doubted_pue_is_withheld_and_referred(records, name, flag):
    record = records[name]
    decision = record["decision"]
    assert verdict(record, flag) == "fail"
    assert verdict(record, "GRN-PUE-GRADE2") == "pass"  # the rule itself passes ...
    withheld = {r["rule_id"] for r in record["rules"] if r["withheld"]}
    assert "GRN-PUE-GRADE2" in withheld and flag not in withheld
    assert record["programmes"]["green"]["status"] == "doubted"  # ... but is not counted
    assert record["programmes"]["green"]["eligible"] is None
    assert decision["green_label"]["status"] == "doubted"
    assert decision["recommendation"] == "refer" and decision["decision_row"] == 7
    doubted = {r["criterion"] for r in decision["green_label"]["reasons"]}
    assert "GRN-PUE-GRADE2" in doubted
    named = {r["criterion"]: r["verdict"] for r in decision["reasons"]}
    assert named[flag] == "fail" and named["GRN-PUE-GRADE2"] == "doubted"


def test_the_evidence_asked_for_is_named_and_clears_the_doubt(records):
    assert (
        "facility_energy_billed_mwh" in records["below_design"]["decision"]["missing_for_decision"]
    )
    billed = records["billed"]
    assert verdict(billed, "PLB-PUE-BELOW-DESIGN") == "not_applicable"
    assert verdict(billed, "PLB-FACILITY-ENERGY") == "pass"
    assert billed["decision"]["green_label"]["status"] == "granted", billed["decision"]


def test_a_doubt_never_touches_a_label_not_asked_for(records):
    record = records["no_label"]
    assert record["programmes"]["green"]["status"] == "not_requested"
    assert record["decision"]["green_label"]["status"] == "not_requested"
    assert record["decision"]["recommendation"] == "refer"  # the flag itself refers


def test_an_unevidenced_share_earns_no_points(records):
    claimed, evidenced = records["share_claimed"], records["share_evidenced"]
    assert verdict(claimed, "PLB-GREEN-EVIDENCE") == "fail"
    assert verdict(evidenced, "PLB-GREEN-EVIDENCE") == "pass"
    assert verdict(claimed, "GRN-RE-80") == verdict(evidenced, "GRN-RE-80") == "pass"
    assert claimed["programmes"]["green"]["score"] < evidenced["programmes"]["green"]["score"]
    missing = claimed["decision"]["missing_for_decision"]
    assert {"green_power_direct_mwh", "green_certificates_mwh"} <= set(missing)


def test_the_quality_score_follows_its_formula(records):
    for record in records.values():
        quality = record["decision"]["data_quality"]
        parts = quality["score_parts"]
        assert set(parts) == {"fields", "evidence", "plausibility"}
        assert all(0 <= share <= 1 for share in parts.values())
        expected = 60 * parts["fields"] + 20 * parts["evidence"] + 20 * parts["plausibility"]
        assert quality["score"] == pytest.approx(expected, abs=0.6)


def test_the_quality_score_counts_evidence_flags_and_gaps(records):
    parts = {name: r["decision"]["data_quality"]["score_parts"] for name, r in records.items()}
    # share 36,600 / (60,000 x 1.22) backs the claim in full; the measured PUE has no bill
    assert parts["clean"]["evidence"] == pytest.approx(0.5, abs=1e-3)
    assert parts["billed"]["evidence"] == 1.0  # share backed, PUE billed
    assert parts["share_claimed"]["evidence"] == 0.0
    assert parts["below_design"]["plausibility"] < parts["clean"]["plausibility"]
    assert parts["gaps"]["fields"] < parts["clean"]["fields"]
    score = {name: r["decision"]["data_quality"]["score"] for name, r in records.items()}
    assert score["billed"] > score["clean"] > score["below_design"]
    assert score["gaps"] < score["clean"]


def test_the_score_is_on_the_frame_the_text_and_the_memo(scored, records, tmp_path):
    frame = scored.decisions
    assert (
        frame.loc["clean", "data_quality_score"]
        == records["clean"]["decision"]["data_quality"]["score"]
    )
    pdf = write_report(scored, "below_design", tmp_path / "memo.pdf")
    page_one = PdfReader(pdf).pages[0].extract_text()
    score = records["below_design"]["decision"]["data_quality"]["score"]
    assert f"Data-quality score\n{score}/100" in page_one  # a tile of the one-glance panel
    assert "withheld (value doubted)" in page_one
    whole = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    assert "pass, doubted" in whole  # the withheld rules in the criteria tables
    zh = PdfReader(write_report(scored, "below_design", tmp_path / "zh.pdf", "zh")).pages[0]
    assert f"数据质量得分\n{score}/100" in zh.extract_text()


def test_the_summary_counts_flags_by_check(scored):
    from assessment.screening.records import result_rows

    results = result_rows(scored)
    rules = scored.evaluation.rules.rules
    flags = [rule.rule_id for rule in rules if rule.severity == "flag"]
    tables = summary_tables(
        results.assign(rank=range(1, len(results) + 1)),
        results.iloc[:0].assign(reasons=[]),
        rule_ids=[rule.rule_id for rule in rules],
        titles={},
        flag_rules=flags,
    )
    raised = tables["Flags raised"].set_index("rule_id")["raised"]
    assert raised["PLB-PUE-BELOW-DESIGN"] == 2  # below_design and no_label
    assert raised["PLB-FACILITY-ENERGY"] == 1
    assert raised.is_monotonic_decreasing
    assert tables["Data quality"]["projects"].sum() == len(ROWS)
    assert results["data_quality_score"].notna().all()


# -- the tables are data, checked ------------------------------------------------------------
def test_a_broken_formula_is_refused_with_where_and_what(tmp_path):
    path = tmp_path / "data_quality.csv"
    path.write_text(
        "component,weight,packs\nfields,60,\nevidence,20,\nplausibility,10,plausibility_cn\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleError) as error:
        load_formula(path)
    assert "summing to 100" in str(error.value) and "data_quality.csv" in str(error.value)
    path.write_text("component,weight,packs\nfields,100,\n", encoding="utf-8")
    with pytest.raises(RuleError, match="components are not exactly"):
        load_formula(path)


def test_a_doubt_naming_an_unknown_field_or_rule_is_refused(tmp_path):
    path = tmp_path / "doubts.csv"
    path.write_text("rule_id,doubts,evidence\nPLB-GREEN-EVIDENCE,green_share,\n", encoding="utf-8")
    with pytest.raises(RuleError, match="unknown field") as error:
        load_doubts(path)
    assert "green_power_share" in str(error.value)  # the nearest field is suggested
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "decision" / "doubts.csv").write_text(
        "rule_id,doubts,evidence\nPLB-NO-SUCH-CHECK,pue,\n", encoding="utf-8"
    )
    with pytest.raises(RuleError, match="not a flag of the rules"):
        check_decision_tables(load_rules(rules))


def test_the_shipped_tables_load():
    assert "doubts" in check_decision_tables(load_rules())


def test_a_doubt_in_the_folders_own_table_is_checked_when_scoring(tmp_path, scored):
    """A misspelt flag in a rules folder's own doubts.csv stops the scoring (it would switch
    the doubt off silently); a folder without its own table uses the packaged rows of the
    flags it has."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    path = rules / "decision" / "doubts.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("PLB-WUE-COOLING", "PLB-WUE-COOLNG"))
    frame = scored.applications
    with pytest.raises(RuleError, match="not a flag of the rules") as error:
        score_read(frame, as_of=AS_OF, rules=load_rules(rules))
    assert "row 8" in str(error.value) and "PLB-WUE-COOLING" in str(error.value)
    single = score_read(frame, as_of=AS_OF, rules=load_rules(ROOT / "rules" / "green_dc_cn"))
    assert (single.decisions["label_status"] != "doubted").all()  # no plausibility flag here


def test_only_evidence_left_blank_is_asked_for_and_a_bad_bill_evidences_nothing(tmp_path):
    rows = [
        BASE | {"project_id": "zero-bill", "facility_energy_billed_mwh": 0},
        BASE | {"project_id": "low-bill", "facility_energy_billed_mwh": 30_000},
        BASE
        | {"project_id": "given", "province": "guangdong", "hub": "greater_bay_area"}
        | {"cluster": "shaoguan", "cooling_type": "air", "pue": 1.12, "pue_design": 1.12}
        | {"green_certificates_mwh": 33_600, "facility_energy_billed_mwh": 67_200},
    ]
    run = score_applications(write_list(tmp_path / "list.csv", rows), as_of=AS_OF, model=None)
    records = {p["project_id"]: p for p in score_json(run)["projects"]}
    for name in ("zero-bill", "low-bill"):
        assert verdict(records[name], "PLB-FACILITY-ENERGY") == "fail"
        assert records[name]["decision"]["data_quality"]["score_parts"]["evidence"] == 0.5
    given = records["given"]["decision"]
    assert verdict(records["given"], "PLB-PUE-CLIMATE-FLOOR") == "fail"
    assert given["green_label"]["status"] == "doubted"
    assert not {"facility_energy_billed_mwh", "cooling_type"} & set(given["missing_for_decision"])


def test_a_share_not_stated_is_computed_from_its_evidence(tmp_path):
    """Grid-mix hydro is not green power: only evidenced MWh count. A share left blank is
    the evidenced one (here 62,220 / 73,200 = 0.85); a claim above its evidence is flagged."""
    rows = [
        BASE | {"project_id": "blank", "green_power_share": "", "green_certificates_mwh": 62_220},
        BASE | {"project_id": "none", "green_power_share": "", "green_certificates_mwh": ""},
    ]
    run = score_applications(write_list(tmp_path / "list.csv", rows), as_of=AS_OF, model=None)
    frame, verdicts = run.frame, run.evaluation.verdicts
    assert frame.at["blank", "green_share_assessed"] == pytest.approx(0.85)
    assert verdicts.at["blank", "GRN-RE-80"] == "pass"
    assert verdicts.at["blank", "PLB-GREEN-EVIDENCE"] == "pass"
    assert pd.isna(frame.at["none", "green_share_assessed"])
    assert verdicts.at["none", "GRN-RE-80"] == "insufficient"  # missing is never a pass
