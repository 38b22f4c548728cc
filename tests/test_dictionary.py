"""The field dictionary is data: its names are a contract, and it loads only when consistent."""

from __future__ import annotations

import shutil

import pytest

from assessment import DictionaryError
from assessment.intake.dictionary import Dictionary

CONTRACT = [
    "project_id",
    "project_name",
    "sponsor",
    "province",
    "city",
    "hub",
    "cluster",
    "facility_type",
    "project_kind",
    "financing_purpose",
    "racks",
    "it_load_mw",
    "rack_utilisation",
    "compute_pflops",
    "pue",
    "pue_design",
    "wue_l_per_kwh",
    "it_energy_mwh",
    "green_power_share",
    "refrigerant_gwp",
    "waste_heat_reuse",
    "total_investment_cny",
    "equity_cny",
    "loan_amount_cny",
    "loan_tenor_years",
    "loan_interest_rate",
    "contracted_revenue_share",
    "top_tenant_share",
    "wale_years",
    "appraised_value_cny",
    "operating_since",
    "asset_rights",
    "title_clear",
    "land_use_compliant",
    "transferable",
    "approvals_complete",
    "major_violations_3y",
    "green_label_requested",
    "revenue_cny",
    "ebitda_cny",
    "operating_cash_flow_cny",
    "debt_service_cny",
    "distributable_cash_cny",
    "net_profit_cny",
    "pue_by_year",
]


def test_canonical_names_other_tools_rely_on(dictionary):
    assert set(CONTRACT) <= set(dictionary.fields)
    assert [f.name for f in dictionary.series_fields()] == CONTRACT[-7:]


def test_enumerations(dictionary):
    hubs = [c for c in dictionary.choice_codes("hub") if c != "none"]
    clusters = [c for c in dictionary.choice_codes("cluster") if c != "none"]
    assert len(hubs) == 8 and len(clusters) == 10
    assert dictionary.choice_codes("facility_type") == [
        "general",
        "intelligent_computing",
        "supercomputing",
        "edge",
    ]
    assert dictionary.choice_codes("project_kind") == ["new", "expansion", "retrofit", "operating"]
    assert dictionary.choice_codes("financing_purpose") == [
        "construction",
        "retrofit",
        "refinancing",
        "acquisition",
        "reit",
    ]
    assert dictionary.choice_codes("asset_rights") == ["ownership", "operating_right"]
    for cluster in clusters:
        assert dictionary.choice_attribute("cluster", cluster, "hub") in hubs


def test_every_field_has_labels_help_and_a_known_programme(dictionary):
    for field in dictionary.fields.values():
        assert field.label_en and field.label_zh and field.help_en and field.help_zh, field.name


def _copy(tmp_path, dictionary):
    folder = tmp_path / "application"
    shutil.copytree(dictionary.folder, folder)
    return folder


def test_an_alias_shared_by_two_fields_is_refused(tmp_path, dictionary):
    folder = _copy(tmp_path, dictionary)
    path = folder / "fields.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("Design PUE", "PUE"), encoding="utf-8")
    with pytest.raises(DictionaryError, match="used by two fields"):
        Dictionary(folder)


def test_an_unknown_type_is_refused_with_its_row(tmp_path, dictionary):
    folder = _copy(tmp_path, dictionary)
    path = folder / "fields.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace(",text,", ",txt,", 1), encoding="utf-8"
    )
    with pytest.raises(DictionaryError, match=r"fields.csv, row 2: unknown field type"):
        Dictionary(folder)
