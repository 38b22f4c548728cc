"""The lookup tables the indicators read, built from the reference tables and ``choices.csv``.

A scoring of one application looks up a handful of codes; building the lookups (a hub's zone, a
cluster's province, the spellings of every city, the emission factors in force on a date, the
plausible ranges of each indicator) costs more than using them. So they are built once per
reference folder and kept while its files stay as they are (:func:`reference_state`: each
file's modification time and size), like the tables themselves
(:func:`assessment.criteria.reference.load_reference`); the lookups of a date are kept for the
last few dates asked for. Nothing here changes after it is built: every caller reads the same
objects and never writes to them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..intake.dictionary import load_dictionary, match_key
from .reference import load_reference, reference_state

FACTOR_LEVELS = ("provincial", "regional", "national")
FALLBACK = "fallback_before_publication"
FACTOR_COLUMNS = {
    "emission_factor": "tco2_per_mwh",
    "emission_factor_year": "data_year",
    "emission_factor_area": "area",
    "emission_factor_level": "factor_type",
    "emission_factor_series": "publication",
    "emission_factor_status": "status",
}


@dataclass(frozen=True)
class Range:
    """The plausible range of one indicator: the field its rows are keyed on (None: one row
    for all), each key's position, and each position's ``low`` and ``high`` with a NaN after
    them (for a key without a row, position -1)."""

    field: str | None
    keys: dict[str, int]
    low: np.ndarray
    high: np.ndarray


NO_RANGE = Range(None, {}, np.array([np.nan]), np.array([np.nan]))


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a cache key
class Lookups:
    """Everything the indicators look up that does not depend on the assessment date."""

    grade_limits: np.ndarray  # the highest PUE of each GB 40879 grade, best first (inf: worst)
    grades: pd.api.extensions.ExtensionArray
    size_min_racks: np.ndarray
    size_classes: pd.api.extensions.ExtensionArray
    edge_max_racks: float
    hub_zone: dict[str, str | None]  # hub code (and "none") -> zone
    provinces: frozenset[str]  # the province codes
    cluster_province: dict[str, str | None]
    hub_province: dict[str, str]  # hub code -> its province, for a hub of exactly one province
    city_spellings: dict[str, tuple[tuple[str, str], ...]]  # key -> (code, province) pairs
    zone_of_province: dict[str, str | None]
    climate_floor: dict[str, float]  # "zone/cooling_type" -> the lowest plausible PUE
    ranges: dict[str, Range]
    tables: dict[str, pd.DataFrame]  # the reference tables, for the lookups of a date


@dataclass(frozen=True)
class Dated:
    """What the indicators look up on an assessment date: the emission-factor columns of each
    province code (position -1: none) and the renewable-consumption weight of each province."""

    factor_provinces: pd.Index
    factor_rows: np.ndarray
    factors: dict[str, pd.api.extensions.ExtensionArray]
    weight_provinces: pd.Index
    weights: np.ndarray


def lookups(reference_dir: str | Path | None = None) -> Lookups:
    """The lookups of ``reference_dir`` (default: the packaged reference tables)."""
    return _built(*reference_state(reference_dir))


def dated(found: Lookups, as_of: dt.date, factor_year: int | None) -> Dated:
    """The lookups of ``found`` on ``as_of`` (``factor_year``: the factors of that data year)."""
    return _dated(found, as_of, None if factor_year is None else int(factor_year))


@lru_cache(maxsize=8)
def _built(folder: Path, states: tuple) -> Lookups:
    """Built once per reference folder while its files stay as they are (``states``)."""
    tables = load_reference(folder)
    grades, classes = tables["gb40879_grades.csv"], tables["size_classes.csv"]
    return Lookups(
        grade_limits=grades["max_pue"].fillna(np.inf).to_numpy(),
        grades=grades["grade"].array,
        size_min_racks=classes["min_racks"].to_numpy(),
        size_classes=classes["size_class"].array,
        edge_max_racks=classes["max_racks"].where(classes["size_class"].eq("edge")).max(),
        hub_zone=_as_dict(_hub_zones()),
        provinces=frozenset(choice_column("province", "hub").index),
        cluster_province=_as_dict(choice_column("cluster", "province")),
        hub_province=_as_dict(_only_province_of_hub(choice_column("province", "hub"))),
        city_spellings=_city_spellings(),
        zone_of_province=_as_dict(_zones(tables["climate_zones.csv"])),
        climate_floor=_floors(tables["pue_climate_floors.csv"]),
        ranges=_ranges(tables["plausible_ranges.csv"]),
        tables=tables,
    )


def _as_dict(table: pd.Series) -> dict:
    """A look-up table as a dict, label -> value (None for a missing value); the first of
    repeated labels, as ``Index.get_indexer`` finds it."""
    found: dict = {}
    for key, value in zip(table.index.tolist(), table.tolist(), strict=True):
        found.setdefault(key, None if pd.isna(value) else value)
    return found


def choice_column(choice_set: str, column: str) -> pd.Series:
    """``column`` of ``choices.csv`` for the codes of ``choice_set`` (blank -> NA)."""
    rows = [row for row in load_dictionary().choices if row["set"] == choice_set]
    codes = [row["code"] for row in rows]
    return pd.Series([row[column] or pd.NA for row in rows], index=codes, dtype="string")


def _hub_zones() -> pd.Series:
    """Hub code -> its zone (east / west), and ``none`` -> ``none``."""
    zones = choice_column("hub", "zone")
    zones["none"] = "none"
    return zones


def _only_province_of_hub(hub_of_province: pd.Series) -> pd.Series:
    """Hub code -> its province, for the hubs that exactly one province has."""
    counts = hub_of_province.value_counts()
    single = hub_of_province[hub_of_province.isin(counts.index[counts == 1])]
    return pd.Series(single.index, index=single.array, dtype="string")


def _city_spellings() -> dict[str, tuple[tuple[str, str], ...]]:
    """Each spelling's key (code, labels, aliases of the city choices: :func:`match_key`) ->
    the (code, province) of the cities spelt so, in the order of ``choices.csv``."""
    found: dict[str, dict[tuple[str, str], None]] = {}
    for row in load_dictionary().choice_rows("city"):
        for spelling in (row["code"], row["label_en"], row["label_zh"], *row["aliases"].split(";")):
            if spelling.strip():
                found.setdefault(match_key(spelling), {})[(row["code"], row["province"])] = None
    return {key: tuple(cities) for key, cities in found.items()}


def _zones(zones: pd.DataFrame) -> pd.Series:
    zones = zones.drop_duplicates("province")
    return pd.Series(zones["climate_zone"].array, index=zones["province"])


def _floors(floors: pd.DataFrame) -> dict[str, float]:
    """The lowest plausible PUE of each ``zone/cooling_type`` (blank type: ``zone/``)."""
    keys = floors["climate_zone"] + "/" + floors["cooling_type"].fillna("")
    table = pd.Series(floors["min_pue"].to_numpy(), index=keys).groupby(level=0).first()
    return dict(zip(table.index.tolist(), table.to_numpy(dtype=float).tolist(), strict=True))


def _ranges(ranges: pd.DataFrame) -> dict[str, Range]:
    """The :class:`Range` of each indicator of ``plausible_ranges.csv``: its rows' first
    ``key_field``; the first row of each key (a blank key is ``""``)."""
    found = {}
    for name in ranges["indicator"].dropna().unique():
        rows = ranges[ranges["indicator"].eq(name)]
        field = rows["key_field"].dropna().drop_duplicates()
        rows = rows.assign(key=rows["key"].fillna("")).drop_duplicates("key")
        low, high = (
            np.append(rows[bound].to_numpy(dtype="float64", na_value=np.nan), np.nan)
            for bound in ("low", "high")
        )
        keys = {key: at for at, key in enumerate(rows["key"].tolist())}
        found[name] = Range(field.iloc[0] if len(field) else None, keys, low, high)
    return found


@lru_cache(maxsize=32)
def _dated(found: Lookups, as_of: dt.date, factor_year: int | None) -> Dated:
    latest = usable_factors(found.tables["grid_emission_factors.csv"], as_of, factor_year)
    regions = choice_column("province", "grid_region")
    weights = _weights(found.tables["renewable_consumption_weights.csv"], as_of.year)
    return Dated(
        factor_provinces=regions.index,
        factor_rows=_factor_rows(regions, latest),
        factors={name: latest[column].array for name, column in FACTOR_COLUMNS.items()},
        weight_provinces=pd.Index(weights["province"]),
        weights=weights["total_weight"].to_numpy(dtype="float64", na_value=np.nan),
    )


def usable_factors(factors: pd.DataFrame, as_of: dt.date, factor_year: int | None) -> pd.DataFrame:
    """The location factors usable at ``as_of``, with their ``status``: those published on or
    before it (``official``), or before the first publication the earliest published set
    (``fallback_before_publication``); the latest data year of each (type, area), or
    ``factor_year`` only."""
    rows = factors[factors["factor_type"].isin(FACTOR_LEVELS)]
    published = rows["published"]
    official = rows[published.le(pd.Timestamp(as_of))].assign(status="official")
    if len(official) or rows.empty:
        rows = official
    else:
        rows = rows[published.eq(published.min())].assign(status=FALLBACK)
    if factor_year is not None:
        rows = rows[rows["data_year"].eq(int(factor_year))]
    latest = rows.astype({"status": "string"}).sort_values(["data_year", "published"])
    return latest.drop_duplicates(["factor_type", "area"], keep="last").reset_index(drop=True)


def _factor_rows(regions: pd.Series, latest: pd.DataFrame) -> np.ndarray:
    """The row of ``latest`` each province code (``regions``' index) takes: its provincial
    factor, else its grid region's, else the national one (-1: none)."""
    keys = pd.Index(latest["factor_type"] + "/" + latest["area"])
    chosen = np.full(len(regions), -1)
    national = ["national/national"] * len(regions)
    grids = ["regional/" + grid for grid in regions.fillna("")]
    for wanted in (national, grids, ["provincial/" + code for code in regions.index]):
        found = keys.get_indexer(wanted)
        chosen = np.where(found >= 0, found, chosen)
    return chosen


def _weights(weights: pd.DataFrame, year: int) -> pd.DataFrame:
    """The latest weight of each province no later than ``year``."""
    rows = weights[weights["year"].le(year)].sort_values("year", kind="stable")
    return rows.drop_duplicates("province", keep="last")
