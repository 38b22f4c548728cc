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
* ``pue_assessed`` is the measured PUE, else the design PUE (a new build has only a design).
* Reference data comes only from the ``rules/reference/`` folder (or ``reference_dir``):
  GB 40879 grades, size classes and grid emission factors, each with its source.
* Location-based emission factor: the MEE/NBS ``provincial`` factor of the project's province,
  of the latest data year no later than the assessment year; if the province has none (or is
  missing or unknown), the latest ``regional`` factor of its grid region
  (``templates/application/choices.csv``); else the latest ``national`` factor. With
  ``factor_year``, that data year only, with the same fallback. The carbon-market grid factor
  is never used here. The factor's value, year, area, level and publication are recorded.
* Market-based emissions net out the green-power share and use the national factor excluding
  market-traded non-fossil electricity, of the same year rule.
* Cash-flow indicators read ``yearly`` once, as a dense project x series x year array: the
  three last full years are ``as_of.year - 3`` ... ``as_of.year - 1``; the three forecast
  years ``as_of.year`` ... ``as_of.year + 2``. DSCR and distribution yield take every year
  that has both terms, actual or forecast.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._resources import data_dir
from .dictionary import load_dictionary
from .errors import AssessmentError, RuleError
from .values import check_as_of


@dataclass(frozen=True)
class Indicator:
    """One indicator column: base unit ("" if none), kind and formula."""

    name: str
    unit: str
    kind: str
    formula: str


# name | unit | kind | formula (units as in fields.csv; "" = none)
_REGISTRY = """\
pue_assessed | | number | retrofit or no measured pue: pue_design; else pue
pue_basis | | choice | design or measured: which PUE pue_assessed took
energy_mwh | MWh | number | it_energy_mwh × pue_assessed
gb40879_grade | | integer | pue_assessed ≤ 1.20: 1, ≤ 1.30: 2, ≤ 1.50: 3, else 4 (GB 40879-2021)
size_class | | choice | racks ≤ 100: edge, < 3,000: small, < 10,000: large, else super_large
in_cluster | | bool | cluster ≠ none
in_hub | | bool | hub ≠ none
hub_zone | | choice | zone of the hub in choices.csv (east / west); none outside the hubs
emission_factor | tCO2/MWh | number | MEE/NBS factor: provincial, else regional, else national
emission_factor_year | | integer | data year of emission_factor: latest ≤ as_of year, or factor_year
emission_factor_area | | choice | province, grid region or national: where emission_factor applies
emission_factor_level | | choice | provincial, regional or national
emission_factor_series | | text | publication of emission_factor
emission_factor_market | tCO2/MWh | number | national factor excl. market-traded non-fossil power
emission_factor_market_year | | integer | data year of emission_factor_market (same year rule)
emissions_tco2 | tCO2 | number | energy_mwh × emission_factor
emissions_market_tco2 | tCO2 | number | energy_mwh × (1−green_power_share) × emission_factor_market
cue | tCO2/MWh | number | emissions_tco2 / it_energy_mwh (= pue_assessed × emission_factor)
carbon_per_pflops | tCO2/PFLOPS | number | emissions_tco2 / compute_pflops (per year)
operating_years | years | number | (as_of − operating_since) in days / 365.25
leverage | fraction | number | loan_amount_cny / total_investment_cny
equity_ratio | fraction | number | equity_cny / total_investment_cny
ltv | fraction | number | loan_amount_cny / appraised_value_cny
tenor_minus_wale | years | number | loan_tenor_years − wale_years
dscr_min | | number | yearly min of operating_cash_flow_cny / debt_service_cny (debt service > 0)
dscr_avg | | number | yearly mean of operating_cash_flow_cny / debt_service_cny (debt service > 0)
distribution_yield_min | fraction | number | min of distributable_cash_cny / appraised_value_cny
distribution_yield_avg | fraction | number | mean of distributable_cash_cny / appraised_value_cny
last_full_year | | integer | as_of year − 1
ocf_positive_3y | | bool | operating_cash_flow_cny > 0 in each of the 3 last full years
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
}

PROJECT_COLUMNS = (
    *("province", "hub", "cluster", "racks", "pue", "pue_design", "it_energy_mwh"),
    "project_kind",
    *("green_power_share", "compute_pflops", "total_investment_cny", "equity_cny"),
    *("loan_amount_cny", "loan_tenor_years", "wale_years", "appraised_value_cny"),
    "operating_since",
)
FACTOR_LEVELS = ("provincial", "regional", "national")
MARKET_FACTOR = "national_excl_market_traded_nonfossil"
_SERIES = ("ebitda_cny", "operating_cash_flow_cny", "debt_service_cny", "distributable_cash_cny")
_FACTOR_COLUMNS = {
    "emission_factor": "tco2_per_mwh",
    "emission_factor_year": "data_year",
    "emission_factor_area": "area",
    "emission_factor_level": "factor_type",
    "emission_factor_series": "publication",
}
_REFERENCE = {  # file -> the columns the indicators read, with their types
    "gb40879_grades.csv": {"grade": "Int64", "max_pue": "float64"},
    "size_classes.csv": {"size_class": "string", "min_racks": "float64", "max_racks": "float64"},
    "grid_emission_factors.csv": {
        "data_year": "Int64",
        "factor_type": "string",
        "area": "string",
        "tco2_per_mwh": "float64",
        "publication": "string",
    },
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
    """``projects`` plus the :data:`INDICATORS` columns, as a new frame (the input is untouched).

    ``factor_year`` pins the emission-factor data year (default: the latest no later than
    ``as_of.year``); ``reference_dir`` replaces the packaged ``rules/reference/`` folder.
    """
    _check_projects(projects)
    check_as_of(as_of)
    reference = _load_reference(reference_dir)
    columns = _efficiency(projects, reference["gb40879_grades.csv"])
    columns |= _siting(projects, reference["size_classes.csv"])
    year = as_of.year if factor_year is None else int(factor_year)
    factors = reference["grid_emission_factors.csv"]
    columns |= _carbon(projects, columns["energy_mwh"], factors, year, factor_year is not None)
    columns |= _finance(projects, as_of)
    columns |= _cash_flow(projects, yearly, as_of)
    return projects.assign(**{indicator.name: columns[indicator.name] for indicator in INDICATORS})


def yearly_indicators(projects: pd.DataFrame, yearly: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Per project and year: ``dscr`` and ``distribution_yield`` (``project_id, year,
    indicator, value``), where computable. ``as_of`` keeps the stage signature; the ratios do
    not depend on it."""
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
    grades = _load_reference(folder)["gb40879_grades.csv"].dropna(subset=["max_pue"])
    return dict(zip(grades["grade"].astype(int), grades["max_pue"].astype(float), strict=True))


def _load_reference(folder: str | Path | None) -> dict[str, pd.DataFrame]:
    folder = Path(folder) if folder else data_dir("rules") / "reference"
    tables = {name: _read_reference(folder / name, types) for name, types in _REFERENCE.items()}
    tables["gb40879_grades.csv"] = tables["gb40879_grades.csv"].sort_values(
        "max_pue", na_position="last"
    )
    tables["size_classes.csv"] = _contiguous(tables["size_classes.csv"], folder)
    return tables


def _read_reference(path: Path, types: dict[str, str]) -> pd.DataFrame:
    if not path.is_file():
        raise RuleError(
            "reference table not found",
            where=str(path),
            hint="pass reference_dir= a folder holding " + ", ".join(_REFERENCE),
        )
    table = pd.read_csv(path, encoding="utf-8")
    missing = [column for column in types if column not in table.columns]
    if missing:
        raise RuleError(
            "reference table lacks columns",
            where=str(path),
            expected=", ".join(types),
            got="no " + ", ".join(missing),
            hint="restore the header row (see rules/reference/README.md)",
        )
    return table.astype(types)


def _contiguous(classes: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """Size classes sorted by ``min_racks``; each must start one rack above the previous."""
    classes = classes.sort_values("min_racks", ignore_index=True)
    lows, highs = classes["min_racks"].to_numpy(), classes["max_racks"].to_numpy()
    if not (np.array_equal(highs[:-1] + 1, lows[1:]) and np.isnan(highs[-1])):
        raise RuleError(
            "size classes are not contiguous",
            where=str(folder / "size_classes.csv"),
            expected="each min_racks = the previous max_racks + 1, the last max_racks blank",
            got=f"min_racks {lows.tolist()}, max_racks {highs.tolist()}",
        )
    return classes


def _choice_column(choice_set: str, column: str) -> pd.Series:
    """``column`` of ``choices.csv`` for the codes of ``choice_set`` (blank -> NA)."""
    rows = [row for row in load_dictionary().choices if row["set"] == choice_set]
    codes = [row["code"] for row in rows]
    return pd.Series([row[column] or pd.NA for row in rows], index=codes, dtype="string")


# -- project indicators ------------------------------------------------------------------------
def _efficiency(projects: pd.DataFrame, grades: pd.DataFrame) -> dict[str, object]:
    measured, design = projects["pue"], projects["pue_design"]
    retrofit = (projects["project_kind"] == "retrofit").fillna(False).to_numpy(dtype=bool)
    use_design = (retrofit & design.notna().to_numpy()) | measured.isna().to_numpy()
    pue = pd.Series(np.where(use_design, design, measured), index=projects.index, dtype="float64")
    basis = np.where(pue.isna(), -1, np.where(use_design, 1, 0))
    limits = grades["max_pue"].fillna(np.inf).to_numpy()
    grade = np.searchsorted(limits, pue.to_numpy(), side="left")
    grade[np.isnan(pue.to_numpy()) | (grade == len(limits))] = -1
    return {
        "pue_assessed": pue,
        "pue_basis": pd.array(["measured", "design"], dtype="string").take(basis, allow_fill=True),
        "energy_mwh": projects["it_energy_mwh"] * pue,
        "gb40879_grade": grades["grade"].array.take(grade, allow_fill=True),
    }


def _siting(projects: pd.DataFrame, classes: pd.DataFrame) -> dict[str, object]:
    racks = projects["racks"].to_numpy(dtype="float64", na_value=np.nan)
    size = np.searchsorted(classes["min_racks"].to_numpy(), racks, side="right") - 1
    size[np.isnan(racks)] = -1
    hub = projects["hub"].astype("string")
    zones = _choice_column("hub", "zone")
    zones["none"] = "none"
    return {
        "size_class": classes["size_class"].array.take(size, allow_fill=True),
        "in_cluster": projects["cluster"].astype("string").ne("none").astype("boolean"),
        "in_hub": hub.ne("none").astype("boolean"),
        "hub_zone": zones.array.take(zones.index.get_indexer(hub), allow_fill=True),
    }


def _carbon(
    projects: pd.DataFrame, energy: pd.Series, factors: pd.DataFrame, year: int, exact: bool
) -> dict[str, object]:
    location = _location_factors(projects["province"].astype("string"), factors, year, exact)
    market = _latest(factors, (MARKET_FACTOR,), year, exact).tail(1)
    pick = np.full(len(projects), 0 if len(market) else -1)  # the one row, or NA if none
    market_factor = np.asarray(market["tco2_per_mwh"].array.take(pick, allow_fill=True))
    emissions = energy * np.asarray(location["emission_factor"])
    return location | {
        "emission_factor_market": market_factor,
        "emission_factor_market_year": market["data_year"].array.take(pick, allow_fill=True),
        "emissions_tco2": emissions,
        "emissions_market_tco2": energy * (1 - projects["green_power_share"]) * market_factor,
        "cue": _ratio(emissions, projects["it_energy_mwh"]),
        "carbon_per_pflops": _ratio(emissions, projects["compute_pflops"]),
    }


def _latest(factors: pd.DataFrame, types: tuple[str, ...], year: int, exact: bool) -> pd.DataFrame:
    """The latest factor of each (type, area) with data year ≤ ``year`` (= ``year`` if exact)."""
    rows = factors[factors["factor_type"].isin(types)]
    rows = rows[rows["data_year"].eq(year) if exact else rows["data_year"].le(year)]
    latest = rows.sort_values("data_year", kind="stable")
    return latest.drop_duplicates(["factor_type", "area"], keep="last").reset_index(drop=True)


def _location_factors(
    province: pd.Series, factors: pd.DataFrame, year: int, exact: bool
) -> dict[str, object]:
    """The emission-factor columns of each project, chosen once per province code."""
    latest = _latest(factors, FACTOR_LEVELS, year, exact)
    regions = _choice_column("province", "grid_region")
    keys = pd.Index(latest["factor_type"] + "/" + latest["area"])
    codes, grids = [*regions.index, ""], [*regions.fillna(""), ""]  # "": any other province
    chosen = np.full(len(codes), -1)
    national = ["national/national"] * len(codes)
    for wanted in (national, ["regional/" + g for g in grids], ["provincial/" + c for c in codes]):
        found = keys.get_indexer(wanted)
        chosen = np.where(found >= 0, found, chosen)
    # get_indexer gives -1 for a missing or unknown province: the last entry, "any other".
    rows = chosen[regions.index.get_indexer(province)]
    return {
        name: latest[source].array.take(rows, allow_fill=True)
        for name, source in _FACTOR_COLUMNS.items()
    }


def _finance(projects: pd.DataFrame, as_of: dt.date) -> dict[str, object]:
    since = pd.to_datetime(projects["operating_since"])
    loan, total = projects["loan_amount_cny"], projects["total_investment_cny"]
    return {
        "operating_years": (pd.Timestamp(as_of) - since).dt.days / 365.25,
        "leverage": _ratio(loan, total),
        "equity_ratio": _ratio(projects["equity_cny"], total),
        "ltv": _ratio(loan, projects["appraised_value_cny"]),
        "tenor_minus_wale": projects["loan_tenor_years"] - projects["wale_years"],
    }


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """``numerator / denominator``, missing where the denominator is zero or the quotient
    overflows (a huge amount over a tiny one)."""
    quotient = numerator / denominator.where(denominator != 0)
    return quotient.where(np.isfinite(quotient.to_numpy(dtype=float, na_value=np.nan)))


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


def _cash_flow(projects: pd.DataFrame, yearly: pd.DataFrame, as_of: dt.date) -> dict[str, object]:
    cube = _Cube.build(projects.index, yearly)
    ratios = _yearly_ratios(cube, projects)
    dscr_min, dscr_avg = _min_and_mean(ratios["dscr"])
    yield_min, yield_avg = _min_and_mean(ratios["distribution_yield"])
    ocf = cube.window("operating_cash_flow_cny", as_of.year - 3)
    history = cube.window("ebitda_cny", as_of.year - 3).mean(axis=1)
    forecast = cube.window("ebitda_cny", as_of.year).mean(axis=1)
    return {
        "dscr_min": dscr_min,
        "dscr_avg": dscr_avg,
        "distribution_yield_min": yield_min,
        "distribution_yield_avg": yield_avg,
        "last_full_year": pd.array(np.full(len(projects), as_of.year - 1), dtype="Int64"),
        "ocf_positive_3y": _all_positive(ocf),
        "ocf_years": pd.array((~np.isnan(ocf)).sum(axis=1), dtype="Int64"),
        "ebitda_hist_avg_3y": history,
        "ebitda_forecast_avg_3y": forecast,
        "ebitda_hist_to_forecast": _divide(history, forecast),
    }
