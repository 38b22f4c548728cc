"""Derived indicators: energy, carbon, siting, finance and cash-flow metrics per project.

``add_indicators(projects, yearly, as_of)`` returns a new frame: ``projects`` plus one column
per entry of :data:`INDICATORS` (name, base unit, kind and a one-line formula;
``indicator_table()`` lists them). ``yearly_indicators(projects, yearly, as_of)`` gives the
per-year ratios (``dscr``, ``distribution_yield``) as a long table. Everything is computed on
whole columns: a million projects take the same code path as one.

Conventions:

* A missing input gives a missing indicator (NaN, or NA for integer, boolean and code
  columns); a ratio whose denominator is zero (or not positive, where said) is missing, never
  infinite.
* ``pue_assessed`` depends on ``project_kind``: an operating site (kind ``operating`` or
  blank) is judged on its measured annual ``pue`` only (none measured: missing, never the
  design value); a ``new`` build, the new capacity of an ``expansion`` and a ``retrofit`` on
  their ``pue_design``. ``pue_basis`` says which (missing where ``pue_assessed`` is).
* ``gb40879_in_scope``: False for an ``edge`` facility of at most 100 standard racks (GB 40879
  excludes them); missing when the facility type, or an edge site's racks, is missing.
* Reference data comes only from the ``rules/reference/`` folder (or ``reference_dir``):
  GB 40879 grades, size classes, grid emission factors, renewable-consumption weights,
  climate zones, PUE climate floors and plausible ranges, each with its source.
* ``province_assessed``: the ``province`` when it is a known code; else the province of the
  ``cluster`` (``choices.csv``); else the province of the ``hub`` when exactly one province
  has that hub; else missing (``province_basis`` given / cluster / hub / none). The carbon
  indicators and ``re_weight_province`` use it; without it they are missing.
* Location-based emission factor: among the MEE/NBS factors *published* on or before
  ``as_of`` (column ``published``), the ``provincial`` factor of ``province_assessed`` of the
  latest data year; if the province has none (Tibet, Hong Kong, Macau, Taiwan), the latest
  ``regional`` factor of its grid region (``templates/application/choices.csv``); else the
  latest ``national`` one. Before the first publication there is no official factor: the
  earliest published set is used and ``emission_factor_status`` says
  ``fallback_before_publication`` (else ``official``). ``factor_year`` picks that data year
  among the same usable factors (a year not yet published gives missing factors). The
  carbon-market grid factor is never used. The factor's value, year, area, level,
  publication and status are recorded.
* Market-based emissions net out the *evidenced* green electricity (``green_evidence_mwh``:
  green-power trading or PPA, certificates, own generation), never the claimed share, at the
  same location factor: ``emissions_tco2 − green_evidence_mwh × emission_factor``, at least
  0. No provincial or regional residual mix is published (the national factor excluding
  market-traded non-fossil power against a provincial location factor could put
  market-based above location-based emissions), so 0 <= market <= location;
  ``emissions_market_method`` says ``evidenced_green_power``, or ``no_evidence`` where none
  is given and market = location.
* Plausibility references: ``climate_zone`` is the GB 50176-2016 thermal zone of
  ``province_assessed`` (``climate_zones.csv``); ``pue_climate_floor`` the lowest plausible
  annual PUE of that zone and the ``cooling_type`` (``pue_climate_floors.csv``; no cooling
  type: the zone's blank-type row, its lowest floor). The ``*_off_range`` indicators are 0
  inside the range of ``plausible_ranges.csv`` for the project's key (cooling or facility
  type), else the distance below (< 0) or above (> 0) it; missing without a value or a row.
* The measured-PUE series ``pue_by_year`` counts for the years before ``as_of.year`` only:
  ``pue_years`` reported, ``pue_latest_gap`` (annual ``pue`` less the latest of them) and
  ``pue_drop_max`` (the largest fall per year between two reported years).
* ``re_weight_province``: the total renewable-electricity consumption responsibility weight
  of ``province_assessed`` of the latest year no later than ``as_of.year``;
  ``green_power_over_weight`` is ``green_share_assessed`` minus that weight:
  ``green_share_assessed`` is the claimed ``green_power_share``, or where none is claimed the
  share the evidence gives (``green_share_evidenced``, at most 1).
* ``operating_years`` of a ``new`` build with no ``operating_since`` is 0.
* Cash-flow indicators read ``yearly`` once, as a dense project x series x year array: the
  three last full years are ``as_of.year - 3`` ... ``as_of.year - 1``; the three forecast
  years ``as_of.year`` ... ``as_of.year + 2``. ``dscr_min`` / ``dscr_avg`` and the
  ``distribution_yield_min`` / ``_avg`` take every year that has both terms, actual or
  forecast; ``dscr_forecast_min`` takes the years from ``as_of.year`` on under the proposed
  loan's level annuity ``debt_service_proposed_cny`` where amount, tenor and rate price it,
  else each year's reported ``debt_service_cny`` (positive); ``dscr_hist_min`` the years
  before, on their own debt service (an old loan's: evidence). The loan's
  ``loan_interest_rate`` is optional (:data:`OPTIONAL_COLUMNS`): a frame without it has no
  proposed debt service.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AssessmentError
from ..intake.cells import as_of_date
from ..intake.dictionary import match_key
from .lookups import (
    FALLBACK,  # noqa: F401  (the status's name, imported from here too)
    NO_RANGE,
    Dated,
    Lookups,
    Range,
    dated,
    lookups,
)
from .reference import CLIMATE_ZONES, load_reference


@dataclass(frozen=True)
class Indicator:
    """One indicator column: base unit ("" if none), kind and formula."""

    name: str
    unit: str
    kind: str
    formula: str


# name | unit | kind | formula (units as in fields.csv; "" = none)
_REGISTRY = """\
pue_assessed | | number | project_kind new, expansion, retrofit: pue_design; else pue only
pue_basis | | choice | design (new, expansion, retrofit) or measured; NA with pue_assessed
energy_mwh | MWh | number | it_energy_mwh × pue_assessed
gb40879_grade | | integer | pue_assessed ≤ 1.20: 1, ≤ 1.30: 2, ≤ 1.50: 3, else 4 (GB 40879-2021)
gb40879_in_scope | | bool | not (facility_type edge and racks ≤ 100); NA if unknown
size_class | | choice | racks ≤ 100: edge, < 3,000: small, < 10,000: large, else super_large
in_cluster | | bool | cluster ≠ none
in_hub | | bool | hub ≠ none
hub_zone | | choice | zone of the hub in choices.csv (east / west); none outside the hubs
province_assessed | | choice | known province, else the cluster's, else the hub's only one
province_basis | | choice | given, cluster, hub or none: where province_assessed came from
city_code | | choice | city matched to the city choices of its province; other; NA if blank
emission_factor | tCO2/MWh | number | MEE/NBS published by as_of: provincial, regional, national
emission_factor_year | | integer | data year: latest published by as_of, or factor_year
emission_factor_area | | choice | province, grid region or national: where emission_factor applies
emission_factor_level | | choice | provincial, regional or national
emission_factor_series | | text | publication of emission_factor
emission_factor_status | | choice | official, or fallback_before_publication (earliest set)
emission_factor_market | tCO2/MWh | number | = emission_factor (no residual mix published)
emission_factor_market_year | | integer | = emission_factor_year
emissions_tco2 | tCO2 | number | energy_mwh × emission_factor
emissions_market_tco2 | tCO2 | number | emissions_tco2 − green_evidence_mwh × factor, ≥ 0
emissions_market_method | | choice | evidenced_green_power, or no_evidence (market = location)
cue | tCO2/MWh | number | emissions_tco2 / it_energy_mwh (= pue_assessed × emission_factor)
cue_market | tCO2/MWh | number | emissions_market_tco2 / it_energy_mwh
carbon_per_pflops | tCO2/PFLOPS | number | emissions_tco2 / compute_pflops (per year)
load_factor | fraction | number | it_energy_mwh / (it_load_mw × 8,760 h)
load_to_utilisation | | number | load_factor / rack_utilisation (> 0)
pue_to_design | | number | measured pue / pue_design, where both are given
facility_energy_gap | fraction | number | facility_energy_billed_mwh / energy_mwh − 1
green_evidence_mwh | MWh | number | green power bought directly + certificates + own generation
green_share_evidenced | fraction | number | green_evidence_mwh / (billed energy, else energy_mwh)
green_share_assessed | fraction | number | green_power_share, else green_share_evidenced (≤ 1)
green_share_unevidenced | fraction | number | green_share_assessed − green_share_evidenced (or 0)
pflops_per_mw | PFLOPS/MW | number | compute_pflops / it_load_mw
climate_zone | | choice | GB 50176-2016 thermal zone of province_assessed (climate_zones.csv)
pue_climate_floor | | number | lowest plausible annual PUE, climate_zone × cooling_type (blank: any)
pue_to_climate_floor | | number | pue_assessed / pue_climate_floor
pue_years | | integer | how many years before as_of's year report pue_by_year
pue_latest_gap | | number | pue − pue_by_year of the latest year reported before as_of's year
pue_drop_max | | number | largest fall of pue_by_year per year, between reported years
wue_off_range | L/kWh | number | WUE beyond its cooling type's range: 0 inside, < 0 below, > 0 above
pflops_off_range | PFLOPS/MW | number | pflops_per_mw beyond its facility type's range (same)
revenue_per_rack_cny | CNY | number | revenue_cny of last_full_year / racks
revenue_per_rack_off_range | CNY | number | revenue_per_rack_cny beyond its range (same)
value_per_mw_cny | CNY | number | appraised_value_cny / it_load_mw
value_per_mw_off_range | CNY | number | value_per_mw_cny beyond its range (same)
re_weight_province | fraction | number | province's RE consumption weight, latest year ≤ as_of
green_power_over_weight | fraction | number | green_share_assessed − re_weight_province
operating_years | years | number | (as_of − operating_since) days / 365.25; new build: 0
land_term_margin_years | years | number | land_term_remaining_years − fund_term_years
expansion_multiple | | number | expandable_assets_cny / appraised_value_cny (> 0)
leverage | fraction | number | loan_amount_cny / total_investment_cny
equity_ratio | fraction | number | equity_cny / total_investment_cny
ltv | fraction | number | loan_amount_cny / appraised_value_cny
tenor_minus_wale | years | number | loan_tenor_years − wale_years
debt_service_proposed_cny | CNY | number | annuity of loan over tenor at loan_interest_rate
dscr_min | | number | yearly min of operating_cash_flow_cny / debt_service_cny (debt service > 0)
dscr_avg | | number | yearly mean of operating_cash_flow_cny / debt_service_cny (debt service > 0)
dscr_forecast_min | | number | min OCF / (proposed loan, else debt service), years ≥ as_of
dscr_hist_min | | number | min OCF / debt_service_cny (> 0), years < as_of year
distribution_yield_min | fraction | number | min of distributable_cash_cny / appraised_value_cny
distribution_yield_avg | fraction | number | mean of distributable_cash_cny / appraised_value_cny
distribution_yield_forecast_min | fraction | number | min distribution yield, as_of year … +2
last_full_year | | integer | as_of year − 1
ocf_positive_3y | | bool | operating_cash_flow_cny > 0 in each of the 3 last full years
profit_or_ocf_positive_3y | | bool | 3-year sum of OCF > 0 or of net_profit_cny > 0 (all 3)
ocf_years | | integer | how many of the 3 last full years report operating_cash_flow_cny
ebitda_hist_avg_3y | CNY | number | mean ebitda_cny of the 3 last full years (all 3)
ebitda_forecast_avg_3y | CNY | number | mean ebitda_cny of as_of year … as_of year + 2 (all 3)
ebitda_hist_to_forecast | fraction | number | ebitda_hist_avg_3y / ebitda_forecast_avg_3y (> 0)
"""
INDICATORS: tuple[Indicator, ...] = tuple(
    Indicator(*(cell.strip() for cell in line.split("|"))) for line in _REGISTRY.splitlines()
)

# The codes a choice indicator takes (rules check their literals against these).
CHOICE_CODES = {
    "pue_basis": ("measured", "design"),
    "size_class": ("edge", "small", "large", "super_large"),
    "hub_zone": ("east", "west", "none"),
    "emission_factor_level": ("provincial", "regional", "national"),
    "emission_factor_status": ("official", "fallback_before_publication"),
    "province_basis": ("given", "cluster", "hub", "none"),
    "climate_zone": CLIMATE_ZONES,
    "emissions_market_method": ("evidenced_green_power", "no_evidence"),
}
# Choice indicators whose codes are a choice set of choices.csv (with the extra codes named):
# an analyst adds a city there, without code.
CHOICE_SETS = {"city_code": ("city", ("other",)), "province_assessed": ("province", ())}

PROJECT_COLUMNS = (
    *("province", "hub", "cluster", "racks", "pue", "pue_design", "it_energy_mwh"),
    *("project_kind", "facility_type"),
    *("green_power_share", "compute_pflops", "total_investment_cny", "equity_cny"),
    *("loan_amount_cny", "loan_tenor_years", "wale_years", "appraised_value_cny"),
    "operating_since",
)
# Read when present (read_applications always gives them); absent: missing values.
OPTIONAL_COLUMNS = (
    *("loan_interest_rate", "it_load_mw", "rack_utilisation", "facility_energy_billed_mwh"),
    *("green_power_direct_mwh", "green_certificates_mwh", "onsite_generation_mwh"),
    *("cooling_type", "wue_l_per_kwh"),
    *("city", "land_term_remaining_years", "fund_term_years", "expandable_assets_cny"),
)
DESIGN_PUE_KINDS = ("new", "expansion", "retrofit")  # judged on pue_design, the rest on pue
_SERIES = (
    *("ebitda_cny", "operating_cash_flow_cny", "debt_service_cny", "distributable_cash_cny"),
    *("net_profit_cny", "revenue_cny", "pue_by_year"),
)


# Each ``*_off_range`` indicator and the value it checks against its plausible range.
OFF_RANGE = {
    "wue_off_range": "wue_l_per_kwh",
    "pflops_off_range": "pflops_per_mw",
    "revenue_per_rack_off_range": "revenue_per_rack_cny",
    "value_per_mw_off_range": "value_per_mw_cny",
}


def indicator_table() -> pd.DataFrame:
    """The registry as a table: ``name, unit, kind, formula``, one row per indicator."""
    return pd.DataFrame([asdict(indicator) for indicator in INDICATORS])


def add_indicators(
    projects: pd.DataFrame,
    yearly: pd.DataFrame,
    as_of: dt.date,
    *,
    factor_year: int | None = None,
    reference_dir: str | Path | None = None,
) -> pd.DataFrame:
    """``projects`` plus the :data:`INDICATORS` columns, as a new frame (the input is untouched;
    indicator columns it already holds are replaced, after its other columns).

    ``factor_year`` pins the emission-factor data year (default: the latest published by
    ``as_of``); ``reference_dir`` replaces the packaged ``rules/reference/`` folder.
    """
    as_of = as_of_date(as_of)
    _check_projects(projects)
    found = lookups(reference_dir)
    on_date = dated(found, as_of, factor_year)
    columns = _efficiency(projects, found)
    columns |= _siting(projects, found)
    columns |= _province(projects, found)
    columns["city_code"] = _city_code(projects, columns["province_assessed"], found)
    columns["green_evidence_mwh"] = _green_evidence(projects)  # read by carbon and checks
    columns |= _carbon(projects, columns, on_date)
    columns["re_weight_province"] = _re_weight(columns["province_assessed"], on_date)
    columns |= _plausibility(projects, columns)
    columns["green_power_over_weight"] = (
        columns["green_share_assessed"] - columns["re_weight_province"]
    )
    columns |= _climate(projects, columns, found)
    columns |= _finance(projects, as_of)
    cube = _Cube.build(projects.index, yearly)
    columns |= _cash_flow(projects, cube, as_of, columns["debt_service_proposed_cny"])
    columns |= _pue_trend(projects, cube, as_of.year)
    columns |= _ranges(projects, columns, cube, as_of.year, found)
    added = pd.DataFrame({i.name: columns[i.name] for i in INDICATORS}, index=projects.index)
    replaced = [name for name in added if name in projects.columns]
    kept = projects.drop(columns=replaced) if replaced else projects
    return pd.concat([kept, added], axis=1)  # one step: assign() adds column by column


def yearly_indicators(projects: pd.DataFrame, yearly: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Per project and year: ``dscr`` and ``distribution_yield`` (``project_id, year,
    indicator, value``), where computable. ``as_of`` keeps the stage signature; the ratios do
    not depend on it."""
    as_of_date(as_of)  # refused as every stage refuses it
    _check_projects(projects)
    cube = _Cube.build(projects.index, yearly)
    ratios = _yearly_ratios(cube, projects)
    stacked = np.stack(list(ratios.values()), axis=-1)  # project, year, indicator
    row, year, kind = np.nonzero(~np.isnan(stacked))
    return pd.DataFrame(
        {
            "project_id": projects.index.array.take(row),
            "year": cube.years[year],
            "indicator": pd.array(list(ratios), dtype="string").take(kind),
            "value": stacked[row, year, kind],
        }
    )


# -- inputs ------------------------------------------------------------------------------------
def _check_projects(projects: pd.DataFrame) -> None:
    missing = [name for name in PROJECT_COLUMNS if name not in projects.columns]
    if missing:
        raise AssessmentError(
            "the projects table lacks columns the indicators need",
            expected="the projects frame of read_applications",
            got="no " + ", ".join(missing),
            hint="pass the projects table returned by read_applications",
        )
    if not projects.index.is_unique:
        raise AssessmentError(
            "project ids are not unique",
            got=", ".join(map(str, projects.index[projects.index.duplicated()][:5])),
            hint="read_applications keeps the first of duplicate ids; deduplicate first",
        )


def grade_pue_limits(folder: str | Path | None = None) -> dict[int, float]:
    """GB 40879 grade -> the highest PUE it allows (the worst grade, beyond the limit value,
    has none)."""
    grades = load_reference(folder)["gb40879_grades.csv"].dropna(subset=["max_pue"])
    return dict(zip(grades["grade"].astype(int), grades["max_pue"].astype(float), strict=True))


# -- project indicators ------------------------------------------------------------------------
# Number columns are carried as numpy float arrays, codes as pandas string or boolean arrays:
# the frame is made once, at the end (a Series per step costs more than the step on one row).
_BASES = pd.array(["measured", "design"], dtype="string")
_METHODS = pd.array(["no_evidence", "evidenced_green_power"], dtype="string")


def _efficiency(projects: pd.DataFrame, found: Lookups) -> dict[str, object]:
    use_design = projects["project_kind"].isin(DESIGN_PUE_KINDS).to_numpy(dtype=bool)
    pue = np.where(use_design, _numbers(projects, "pue_design"), _numbers(projects, "pue"))
    basis = np.where(np.isnan(pue), -1, use_design.astype(int))
    grade = np.searchsorted(found.grade_limits, pue, side="left")
    grade[np.isnan(pue) | (grade == len(found.grade_limits))] = -1
    return {
        "pue_assessed": pue,
        "pue_basis": _BASES.take(basis, allow_fill=True),
        "energy_mwh": _numbers(projects, "it_energy_mwh") * pue,
        "gb40879_grade": found.grades.take(grade, allow_fill=True),
    }


def _siting(projects: pd.DataFrame, found: Lookups) -> dict[str, object]:
    racks = _numbers(projects, "racks")
    size = np.searchsorted(found.size_min_racks, racks, side="right") - 1
    size[np.isnan(racks)] = -1
    hub, cluster = _texts(projects, "hub"), _texts(projects, "cluster")
    return {
        "gb40879_in_scope": _gb40879_in_scope(projects, racks, found.edge_max_racks),
        "size_class": found.size_classes.take(size, allow_fill=True),
        "in_cluster": _booleans(cluster != "none", _missing(cluster)),
        "in_hub": _booleans(hub != "none", _missing(hub)),
        "hub_zone": _codes(_looked_up(hub, found.hub_zone)),
    }


def _gb40879_in_scope(
    projects: pd.DataFrame, racks: np.ndarray, limit: float
) -> pd.arrays.BooleanArray:
    """False for an ``edge`` facility within the ``edge`` size class (GB 40879 excludes edge
    data centres of at most 100 racks); NA without its facility type, or an edge site's racks."""
    facility = _texts(projects, "facility_type")
    edge = facility == "edge"
    with np.errstate(invalid="ignore"):
        small = racks <= limit
    return _booleans(~(edge & small), _missing(facility) | (edge & np.isnan(racks)))


def _province(projects: pd.DataFrame, found: Lookups) -> dict[str, object]:
    """``province_assessed``: the given code if known, else the cluster's, else the hub's
    only province; ``province_basis`` says which (none: no province)."""
    given = _texts(projects, "province")
    known = dict.fromkeys(found.provinces)
    sources = {
        "given": _looked_up(given, {code: code for code in known}),
        "cluster": _looked_up(_texts(projects, "cluster"), found.cluster_province),
        "hub": _looked_up(_texts(projects, "hub"), found.hub_province),
    }
    assessed = np.full(len(projects), None, dtype=object)
    basis = np.full(len(projects), "none", dtype=object)
    for name, source in reversed(sources.items()):  # the first that is known wins
        there = ~_missing(source)
        assessed[there], basis[there] = source[there], name
    return {"province_assessed": _codes(assessed), "province_basis": _codes(basis)}


def _city_code(projects: pd.DataFrame, province: object, found: Lookups) -> object:
    """The ``city`` choice (``choices.csv``) each ``city`` names: its code, its labels or an
    alias, case, spaces, punctuation and a trailing bracket ignored (``深圳市``, ``Shenzhen
    (Nanshan)``), among the cities of ``province_assessed`` when that is known; ``other`` for
    a city given but not listed (or listed in another province); NA for a blank city, or a
    spelling two cities share. Matched once per distinct (city, province)."""
    city = _texts(projects, "city")
    if _missing(city).all():  # no city given: nothing to match
        return pd.array(city, dtype="string")
    code = _by_pairs(city, _objects(province), partial(_city_of, found.city_spellings), None)
    return _codes(code)


def _city_of(spellings: dict, city: str, province: str | None) -> str | None:
    """The one city spelt as ``city`` (in ``province`` when known): its code; None when two
    cities are spelt so, or for a blank city; ``other`` when none is."""
    if not city.strip():
        return None
    cities = spellings.get(match_key(city), ())
    codes = {code for code, where in cities if province is None or where == province}
    if len(codes) == 1:
        return codes.pop()
    return None if codes else "other"


def _texts(projects: pd.DataFrame, name: str) -> np.ndarray:
    """Column ``name`` as text, Python strings (None where missing, all None when absent)."""
    if name not in projects.columns:
        return np.full(len(projects), None, dtype=object)
    return projects[name].astype("string").to_numpy(dtype=object, na_value=None)


def _by_pairs(first: np.ndarray, second: np.ndarray, make: Callable, missing: object) -> np.ndarray:
    """``make(a, b)`` for each row's pair of ``first`` and ``second`` (objects; ``b`` None
    where missing), as objects, made once per distinct pair; ``missing`` where ``first`` is."""
    firsts, first_names = pd.factorize(first)
    seconds, second_names = pd.factorize(second)
    width = len(second_names) + 1
    pairs, inverse = np.unique(firsts * width + seconds + 1, return_inverse=True)
    made = [
        missing
        if pair < 0
        else make(
            first_names[pair // width], second_names[pair % width - 1] if pair % width else None
        )
        for pair in pairs.tolist()
    ]
    return np.array(made, dtype=object)[inverse.ravel()]


def _objects(codes: pd.api.extensions.ExtensionArray) -> np.ndarray:
    """A text column as Python strings, None where missing."""
    return codes.to_numpy(dtype=object, na_value=None)


def _looked_up(keys: np.ndarray, table: dict, default: object = None) -> np.ndarray:
    """``table[key]`` for each key (a missing or unknown key: ``default``), as objects; each
    distinct key looked up once."""
    codes, distinct = pd.factorize(keys)  # a missing key: -1, the last of the values
    values = [table.get(key, default) for key in distinct.tolist()]
    return np.array([*values, default], dtype=object)[codes]


def _missing(values: np.ndarray) -> np.ndarray:
    return pd.isna(values)


def _booleans(values: np.ndarray, missing: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), missing)


def _codes(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Codes (objects, None for missing) as a text column."""
    return pd.array(values, dtype="string")


def _carbon(projects: pd.DataFrame, columns: dict, on_date: Dated) -> dict[str, object]:
    location = _location_factors(columns["province_assessed"], on_date)
    factor, energy = np.asarray(location["emission_factor"]), columns["energy_mwh"]
    emissions = energy * factor
    market, method = _market_emissions(emissions, columns["green_evidence_mwh"], factor)
    it_energy = _numbers(projects, "it_energy_mwh")
    return location | {
        "emission_factor_market": factor,
        "emission_factor_market_year": location["emission_factor_year"],
        "emissions_tco2": emissions,
        "emissions_market_tco2": market,
        "emissions_market_method": method,
        "cue": _ratio(emissions, it_energy),
        "cue_market": _ratio(market, it_energy),
        "carbon_per_pflops": _ratio(emissions, _numbers(projects, "compute_pflops")),
    }


def _market_emissions(
    emissions: np.ndarray, evidence: np.ndarray, factor: np.ndarray
) -> tuple[np.ndarray, pd.arrays.StringArray]:
    """Location-based emissions less the evidenced green electricity at the same factor (no
    residual mix is published for a province), at least 0; where no green electricity is
    evidenced, the location-based emissions (method ``no_evidence``)."""
    evidenced = evidence > 0
    netted = _at_least_0(emissions - _at_least_0(evidence) * factor)
    market = np.where(evidenced, netted, emissions)
    code = np.where(np.isnan(market), -1, evidenced.astype(int))
    return market, _METHODS.take(code, allow_fill=True)


def _at_least_0(values: np.ndarray) -> np.ndarray:
    """``values`` below 0 raised to 0 (missing stays missing, as ``clip(lower=0)``)."""
    return np.where(values < 0, 0.0, values)


def _location_factors(province: pd.Series, on_date: Dated) -> dict[str, object]:
    """The emission-factor columns of each project, chosen per province code
    (:class:`~.lookups.Dated`): its provincial factor, else its grid region's, else the
    national one; NA for no province."""
    position = on_date.factor_provinces.get_indexer(province)
    rows = np.where(position >= 0, on_date.factor_rows[position], -1)
    return {name: values.take(rows, allow_fill=True) for name, values in on_date.factors.items()}


def _re_weight(province: pd.Series, on_date: Dated) -> np.ndarray:
    """The total renewable-consumption weight of each province, of the latest year ≤ the
    assessment year (NaN before the first year, or for a province without one)."""
    positions = on_date.weight_provinces.get_indexer(province)
    return np.append(on_date.weights, np.nan)[positions]


HOURS_A_YEAR = 8760


def _plausibility(projects: pd.DataFrame, columns: dict) -> dict[str, object]:
    """The ratios the plausibility checks read: does the application add up?"""
    energy, evidence = columns["energy_mwh"], columns["green_evidence_mwh"]
    it_load = _optional(projects, "it_load_mw")
    load = _ratio(_numbers(projects, "it_energy_mwh"), it_load * HOURS_A_YEAR)
    design = projects["project_kind"].isin(DESIGN_PUE_KINDS).to_numpy(dtype=bool)
    measured = np.where(design, np.nan, _numbers(projects, "pue"))
    facility = _optional(projects, "facility_energy_billed_mwh")
    evidenced = _ratio(evidence, np.where(facility > 0, facility, energy))
    claimed = _numbers(projects, "green_power_share")
    assessed = np.where(np.isnan(claimed), np.where(evidenced > 1, 1.0, evidenced), claimed)
    return {
        "load_factor": load,
        "load_to_utilisation": _ratio(load, _optional(projects, "rack_utilisation")),
        "pue_to_design": _ratio(measured, _numbers(projects, "pue_design")),
        "facility_energy_gap": _ratio(facility, energy) - 1,
        "green_share_evidenced": evidenced,
        "green_share_assessed": assessed,
        "green_share_unevidenced": assessed - np.where(np.isnan(evidenced), 0.0, evidenced),
        "pflops_per_mw": _ratio(_numbers(projects, "compute_pflops"), it_load),
    }


GREEN_EVIDENCE = ("green_power_direct_mwh", "green_certificates_mwh", "onsite_generation_mwh")


def _green_evidence(projects: pd.DataFrame) -> np.ndarray:
    """The evidenced green electricity (MWh): the sum of :data:`GREEN_EVIDENCE` given, missing
    where none is."""
    parts = [_optional(projects, name) for name in GREEN_EVIDENCE]
    total = np.where(np.isnan(parts[0]), 0.0, parts[0])
    for part in parts[1:]:  # in order, as a row sum adds them
        total = total + np.where(np.isnan(part), 0.0, part)
    return np.where(np.logical_and.reduce([np.isnan(part) for part in parts]), np.nan, total)


def _climate(projects: pd.DataFrame, columns: dict, found: Lookups) -> dict[str, object]:
    """The GB 50176-2016 thermal zone of ``province_assessed`` and the lowest plausible annual
    PUE of the project's cooling type there (no cooling type: the zone's row with a blank
    cooling type); missing for an unknown province, zone or cooling type."""
    zone = _looked_up(_objects(columns["province_assessed"]), found.zone_of_province)
    floor = _by_pairs(
        zone,
        _texts(projects, "cooling_type"),
        lambda zone, cooling: found.climate_floor.get(f"{zone}/{cooling or ''}", np.nan),
        np.nan,
    ).astype(float)
    return {
        "climate_zone": _codes(zone),
        "pue_climate_floor": floor,
        "pue_to_climate_floor": _ratio(columns["pue_assessed"], np.where(floor > 0, floor, np.nan)),
    }


def _pue_trend(projects: pd.DataFrame, cube: _Cube, year: int) -> dict[str, object]:
    """The measured PUE by year (``pue_by_year``) of the years before ``year``: how many are
    given, the annual ``pue`` less the latest of them, and the largest fall per year between
    two given years (a rise is a negative fall)."""
    past = cube.years < year
    values, years = cube.series("pue_by_year")[:, past], cube.years[past].astype("float64")
    given = ~np.isnan(values)
    before = _shifted(_filled(values))
    before_year = _filled(np.where(given, years, np.nan))
    fall = (before - values) / (years - _shifted(before_year))
    latest = _filled(values)[:, -1] if past.any() else np.nan
    return {
        "pue_years": pd.array(given.sum(axis=1), dtype="Int64"),
        "pue_latest_gap": _numbers(projects, "pue") - latest,
        "pue_drop_max": np.fmax.reduce(fall, axis=1, initial=np.nan),
    }


def _filled(values: np.ndarray) -> np.ndarray:
    """Each row's missing values filled with the last value before them (forward fill)."""
    last = np.where(np.isnan(values), 0, np.arange(values.shape[1]))
    np.maximum.accumulate(last, axis=1, out=last)
    return np.take_along_axis(values, last, axis=1)


def _shifted(values: np.ndarray) -> np.ndarray:
    """Each row moved one column to the right, a missing value first."""
    return np.concatenate([np.full((len(values), 1), np.nan), values[:, :-1]], axis=1)


def _ranges(
    projects: pd.DataFrame, columns: dict, cube: _Cube, year: int, found: Lookups
) -> dict[str, object]:
    """Revenue per rack and value per MW, and how far each checked value lies outside its
    plausible range (``plausible_ranges.csv``)."""
    revenue = cube.window("revenue_cny", year - 1)[:, 0]
    it_load = _optional(projects, "it_load_mw")
    values = {
        "wue_l_per_kwh": _optional(projects, "wue_l_per_kwh"),
        "pflops_per_mw": columns["pflops_per_mw"],
        "revenue_per_rack_cny": _ratio(revenue, _numbers(projects, "racks")),
        "value_per_mw_cny": _ratio(_numbers(projects, "appraised_value_cny"), it_load),
    }
    off = {
        off: _off_range(values[checked], found.ranges.get(checked, NO_RANGE), projects)
        for off, checked in OFF_RANGE.items()
    }
    return off | {name: values[name] for name in ("revenue_per_rack_cny", "value_per_mw_cny")}


def _off_range(value: np.ndarray, bounds: Range, projects: pd.DataFrame) -> np.ndarray:
    """``value`` less the nearer bound of its range for each project's key (``bounds.field``;
    a blank key is the row for a blank or keyless value): 0 inside, negative below, positive
    above; missing without a value or a row."""
    if bounds.field is None:
        position = np.full(len(projects), bounds.keys.get("", -1))
    else:
        keys = _texts(projects, bounds.field)
        position = _looked_up(keys, bounds.keys, bounds.keys.get("", -1)).astype(int)
    low, high = bounds.low[position], bounds.high[position]  # -1 takes the NaN appended
    with np.errstate(invalid="ignore"):
        off = np.where(value < low, value - low, np.where(value > high, value - high, 0.0))
    off[np.isnan(value) | (position < 0)] = np.nan
    return off


def _finance(projects: pd.DataFrame, as_of: dt.date) -> dict[str, object]:
    loan, total = (_numbers(projects, n) for n in ("loan_amount_cny", "total_investment_cny"))
    tenor, appraised = (_numbers(projects, n) for n in ("loan_tenor_years", "appraised_value_cny"))
    return {
        "operating_years": _operating_years(projects, as_of),
        "land_term_margin_years": _optional(projects, "land_term_remaining_years")
        - _optional(projects, "fund_term_years"),
        "expansion_multiple": _ratio(
            _optional(projects, "expandable_assets_cny"), np.where(appraised > 0, appraised, np.nan)
        ),
        "leverage": _ratio(loan, total),
        "equity_ratio": _ratio(_numbers(projects, "equity_cny"), total),
        "ltv": _ratio(loan, appraised),
        "tenor_minus_wale": tenor - _numbers(projects, "wale_years"),
        "debt_service_proposed_cny": _annuity(
            loan, tenor, _optional(projects, "loan_interest_rate")
        ),
    }


def _numbers(projects: pd.DataFrame, name: str) -> np.ndarray:
    """Column ``name`` as floats (missing: NaN)."""
    return projects[name].to_numpy(dtype="float64", na_value=np.nan)


def _optional(projects: pd.DataFrame, name: str) -> np.ndarray:
    """Column ``name`` of :data:`OPTIONAL_COLUMNS` as floats, all missing when absent."""
    if name not in projects.columns:
        return np.full(len(projects), np.nan)
    return _numbers(projects, name)


def _operating_years(projects: pd.DataFrame, as_of: dt.date) -> np.ndarray:
    """Years since ``operating_since`` (whole days over 365.25); 0 for a new build that has
    not started operating."""
    since = pd.to_datetime(projects["operating_since"]).to_numpy(dtype="datetime64[ns]")
    new_build = _texts(projects, "project_kind") == "new"
    with np.errstate(invalid="ignore"):  # no date (NaT): no days
        days = (np.datetime64(as_of, "ns") - since) // np.timedelta64(1, "D")
    years = np.where(np.isnat(since), np.nan, days) / 365.25
    return np.where(new_build & np.isnat(since), 0.0, years)


def _annuity(amount: np.ndarray, tenor: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """The level yearly payment repaying ``amount`` over ``tenor`` years at ``rate``:
    amount × rate / (1 − (1 + rate)^−tenor), or amount / tenor at rate 0; missing for a
    tenor that is not positive."""
    tenor = np.where(tenor > 0, tenor, np.nan)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        discount = 1 - (1 + rate) ** -tenor
    level = _ratio(amount * rate, np.where(rate != 0, discount, np.nan))
    return np.where(rate != 0, level, _ratio(amount, tenor))


def _ratio(numerator: object, denominator: object) -> np.ndarray:
    """``numerator / denominator`` as floats, missing where the denominator is zero or the
    quotient overflows (a huge amount over a tiny one)."""
    top, bottom = _floats(numerator), _floats(denominator)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        quotient = top / np.where(bottom != 0, bottom, np.nan)
    quotient[~np.isfinite(quotient)] = np.nan
    return quotient


def _floats(values: object) -> np.ndarray:
    """A column (numpy array or pandas Series or array) as floats (missing: NaN)."""
    if isinstance(values, np.ndarray):
        return values.astype("float64", copy=False)
    return values.to_numpy(dtype="float64", na_value=np.nan)


# -- cash-flow indicators ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Cube:
    """``values[project, series, year]`` of the yearly series (NaN: not reported)."""

    values: np.ndarray
    years: np.ndarray

    @classmethod
    def build(cls, index: pd.Index, yearly: pd.DataFrame) -> _Cube:
        """Scatter the long rows into one dense array (few temporaries: 35 M rows are usual)."""
        flat = index.get_indexer(yearly["project_id"])  # becomes the flat position, in place
        series = pd.Index(_SERIES).get_indexer(yearly["series"])
        other = (flat < 0) | (series < 0)  # another project or series: to the spare last slot
        years, year = _year_codes(yearly["year"].to_numpy(dtype="int64"))
        shape = (len(index), len(_SERIES), len(years))
        flat *= len(_SERIES)
        flat += series
        flat *= len(years)
        flat += year
        flat[other] = math.prod(shape)
        cube = np.full(math.prod(shape) + 1, np.nan)
        cube[flat] = yearly["value"].to_numpy(dtype="float64", na_value=np.nan)
        return cls(cube[:-1].reshape(shape), years)

    def series(self, name: str) -> np.ndarray:
        return self.values[:, _SERIES.index(name)]

    def window(self, name: str, first: int) -> np.ndarray:
        """``name`` for the three years from ``first`` (NaN where not reported)."""
        where = pd.Index(self.years).get_indexer(range(first, first + 3))
        window = np.full((len(self.values), 3), np.nan)
        window[:, where >= 0] = self.series(name)[:, where[where >= 0]]
        return window


def _year_codes(years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct years (sorted) and each value's position among them, without sorting."""
    if years.size == 0:
        return years, years
    first = years.min()
    offset = years - first
    present = np.bincount(offset) > 0
    return np.flatnonzero(present) + first, (np.cumsum(present) - 1)[offset]


def _yearly_ratios(cube: _Cube, projects: pd.DataFrame) -> dict[str, np.ndarray]:
    appraised = projects["appraised_value_cny"].to_numpy(dtype="float64", na_value=np.nan)
    return {
        "dscr": _divide(cube.series("operating_cash_flow_cny"), cube.series("debt_service_cny")),
        "distribution_yield": _divide(cube.series("distributable_cash_cny"), appraised[:, None]),
    }


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` where the denominator is positive, NaN elsewhere and
    where the quotient overflows."""
    out = np.full(np.broadcast_shapes(numerator.shape, denominator.shape), np.nan)
    with np.errstate(over="ignore"):
        np.divide(numerator, denominator, out=out, where=denominator > 0)
    out[np.isinf(out)] = np.nan
    return out


def _min_and_mean(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise minimum and mean over the non-missing values (NaN for a row with none)."""
    count = (~np.isnan(values)).sum(axis=1)
    with np.errstate(over="ignore"):  # ratios near the float limit: their mean is missing
        total = np.where(np.isnan(values), 0.0, values).sum(axis=1)
    mean = np.divide(total, count, out=np.full(len(count), np.nan), where=count > 0)
    mean[np.isinf(mean)] = np.nan
    return np.fmin.reduce(values, axis=1, initial=np.nan), mean


def _all_positive(values: np.ndarray) -> pd.arrays.BooleanArray:
    """True when every value is > 0, False when one is ≤ 0, else NA (one missing)."""
    failed = (values <= 0).any(axis=1)
    return pd.arrays.BooleanArray(~failed, ~failed & np.isnan(values).any(axis=1))


def _any_sum_positive(*windows: np.ndarray) -> pd.arrays.BooleanArray:
    """True when a window's row sum is > 0; False when a complete window's sum is ≤ 0 and
    no other is positive; NA when no window is complete (a year missing in each)."""
    with np.errstate(over="ignore", invalid="ignore"):
        sums = np.stack([window.sum(axis=1) for window in windows])
    positive = (sums > 0).any(axis=0)
    return pd.arrays.BooleanArray(positive, np.isnan(sums).all(axis=0))


def _dscr_split(cube: _Cube, year: int, proposed: np.ndarray) -> dict[str, np.ndarray]:
    """Minimum DSCR of the forecast years (from ``year``: the proposed loan's debt service
    where it can be priced, else that year's reported debt service) and of the years before
    (their debt service)."""
    ocf, service = cube.series("operating_cash_flow_cny"), cube.series("debt_service_cny")
    forecast = cube.years >= year
    planned = proposed[:, None]
    planned = np.where(planned > 0, planned, np.where(service > 0, service, np.nan))
    planned = np.broadcast_to(planned, service.shape)[:, forecast]
    past = _divide(ocf[:, ~forecast], service[:, ~forecast])
    return {
        "dscr_forecast_min": np.fmin.reduce(
            _divide(ocf[:, forecast], planned), axis=1, initial=np.nan
        ),
        "dscr_hist_min": np.fmin.reduce(past, axis=1, initial=np.nan),
    }


def _cash_flow(
    projects: pd.DataFrame, cube: _Cube, as_of: dt.date, proposed: np.ndarray
) -> dict[str, object]:
    ratios = _yearly_ratios(cube, projects)
    dscr_min, dscr_avg = _min_and_mean(ratios["dscr"])
    yield_min, yield_avg = _min_and_mean(ratios["distribution_yield"])
    appraised = projects["appraised_value_cny"].to_numpy(dtype="float64", na_value=np.nan)
    forecast_yield = _divide(cube.window("distributable_cash_cny", as_of.year), appraised[:, None])
    ocf = cube.window("operating_cash_flow_cny", as_of.year - 3)
    profit = cube.window("net_profit_cny", as_of.year - 3)
    history = cube.window("ebitda_cny", as_of.year - 3).mean(axis=1)
    forecast = cube.window("ebitda_cny", as_of.year).mean(axis=1)
    return _dscr_split(cube, as_of.year, proposed) | {
        "dscr_min": dscr_min,
        "dscr_avg": dscr_avg,
        "distribution_yield_min": yield_min,
        "distribution_yield_avg": yield_avg,
        "distribution_yield_forecast_min": np.fmin.reduce(forecast_yield, axis=1, initial=np.nan),
        "last_full_year": pd.array(np.full(len(projects), as_of.year - 1), dtype="Int64"),
        "ocf_positive_3y": _all_positive(ocf),
        "profit_or_ocf_positive_3y": _any_sum_positive(ocf, profit),
        "ocf_years": pd.array((~np.isnan(ocf)).sum(axis=1), dtype="Int64"),
        "ebitda_hist_avg_3y": history,
        "ebitda_forecast_avg_3y": forecast,
        "ebitda_hist_to_forecast": _divide(history, forecast),
    }


# The application fields each indicator is computed from (for "which fields would decide it").
_INPUTS = {
    "pue_assessed": ("pue", "pue_design", "project_kind"),
    "pue_basis": ("pue", "pue_design", "project_kind"),
    "energy_mwh": ("it_energy_mwh", "pue", "pue_design"),
    "gb40879_grade": ("pue", "pue_design", "project_kind"),
    "gb40879_in_scope": ("facility_type", "racks"),
    "size_class": ("racks",),
    "in_cluster": ("cluster",),
    "in_hub": ("hub",),
    "hub_zone": ("hub",),
    "province_assessed": ("province", "cluster", "hub"),
    "re_weight_province": ("province",),
    "green_share_assessed": ("green_power_share",),  # or its evidence: counted as evidence
    "green_power_over_weight": ("green_power_share", "province"),
    "operating_years": ("operating_since", "project_kind"),
    "leverage": ("loan_amount_cny", "total_investment_cny"),
    "equity_ratio": ("equity_cny", "total_investment_cny"),
    "ltv": ("loan_amount_cny", "appraised_value_cny"),
    "tenor_minus_wale": ("loan_tenor_years", "wale_years"),
    "debt_service_proposed_cny": ("loan_amount_cny", "loan_tenor_years", "loan_interest_rate"),
    "dscr_forecast_min": ("operating_cash_flow_cny", "debt_service_cny", "loan_interest_rate"),
    "dscr_hist_min": ("operating_cash_flow_cny", "debt_service_cny"),
    "dscr_min": ("operating_cash_flow_cny", "debt_service_cny"),
    "distribution_yield_forecast_min": ("distributable_cash_cny", "appraised_value_cny"),
    "distribution_yield_min": ("distributable_cash_cny", "appraised_value_cny"),
    "ocf_positive_3y": ("operating_cash_flow_cny",),
    "profit_or_ocf_positive_3y": ("operating_cash_flow_cny", "net_profit_cny"),
    "ebitda_hist_to_forecast": ("ebitda_cny",),
    "climate_zone": ("province", "cluster", "hub"),
    "pue_climate_floor": ("province", "cooling_type"),
    "pue_to_climate_floor": ("pue", "pue_design", "project_kind", "province", "cooling_type"),
    "pue_years": ("pue_by_year",),
    "pue_latest_gap": ("pue", "pue_by_year"),
    "pue_drop_max": ("pue_by_year",),
    "wue_off_range": ("wue_l_per_kwh", "cooling_type"),
    "pflops_off_range": ("compute_pflops", "it_load_mw", "facility_type"),
    "revenue_per_rack_cny": ("revenue_cny", "racks"),
    "revenue_per_rack_off_range": ("revenue_cny", "racks"),
    "value_per_mw_cny": ("appraised_value_cny", "it_load_mw"),
    "value_per_mw_off_range": ("appraised_value_cny", "it_load_mw"),
    "emissions_market_tco2": ("it_energy_mwh", "province", *GREEN_EVIDENCE),
    "emissions_market_method": GREEN_EVIDENCE,
    "city_code": ("city", "province"),
    "land_term_margin_years": ("land_term_remaining_years", "fund_term_years"),
    "expansion_multiple": ("expandable_assets_cny", "appraised_value_cny"),
}


def input_fields(name: str) -> tuple[str, ...]:
    """The application fields ``name`` comes from: itself for a field, its inputs for an
    indicator (the emission-factor and other indicators not listed: the indicator itself)."""
    return _INPUTS.get(name, (name,))
