"""The reference tables the indicators read (``rules/reference/``, or a rules folder's own
``reference/``), loaded and checked: every problem of a table is reported at once, with its
file, row, column, the value and what was expected, so that an analyst's edit is either used
or refused, never silently half-used.

Checked beyond the columns and their types: size classes are contiguous; a province, a
climate zone and a cooling type are known codes; the keys of the climate and range tables
are unique; a PUE floor is at least 1; a range's ``key_field`` is the one its indicator is
keyed on, its keys are codes of that field and ``low <= high``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .._shared.resources import data_dir
from .._shared.tables import read_reference_table
from ..errors import RuleError, table_problem
from ..intake.dictionary import load_dictionary

CLIMATE_ZONES = (  # GB 50176-2016 building thermal design zones
    *("severe_cold", "cold", "hot_summer_cold_winter", "hot_summer_warm_winter", "temperate"),
)
# The indicators plausible_ranges.csv gives ranges for, with the field each is keyed on ("":
# one range for all).
RANGE_KEYS = {
    "wue_l_per_kwh": "cooling_type",
    "pflops_per_mw": "facility_type",
    "revenue_per_rack_cny": "",
    "value_per_mw_cny": "",
}
TABLES = {  # file -> the columns the indicators read, with their types
    "gb40879_grades.csv": {"grade": "Int64", "max_pue": "float64"},
    "size_classes.csv": {"size_class": "string", "min_racks": "float64", "max_racks": "float64"},
    "grid_emission_factors.csv": {
        "data_year": "Int64",
        "factor_type": "string",
        "area": "string",
        "tco2_per_mwh": "float64",
        "publication": "string",
        "published": "datetime64[ns]",
    },
    "renewable_consumption_weights.csv": {
        "year": "Int64",
        "province": "string",
        "total_weight": "float64",
    },
    "climate_zones.csv": {"province": "string", "climate_zone": "string"},
    "pue_climate_floors.csv": {
        "climate_zone": "string",
        "cooling_type": "string",
        "min_pue": "float64",
    },
    "plausible_ranges.csv": {
        "indicator": "string",
        "key_field": "string",
        "key": "string",
        "low": "float64",
        "high": "float64",
    },
}


def load_reference(folder: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Every table of :data:`TABLES` from ``folder`` (default: the packaged one), checked;
    read and checked once while the files stay as they are (each caller gets copies)."""
    tables = _checked(*reference_state(folder))
    return {name: table.copy() for name, table in tables.items()}


def reference_state(folder: str | Path | None = None) -> tuple[Path, tuple]:
    """The reference folder (default: the packaged one) and the state of each of its tables
    (path, modification time, size): a key that changes when a table is edited."""
    folder = Path(folder) if folder else data_dir("rules") / "reference"
    return folder, tuple(_state(folder / name) for name in TABLES)


def _state(path: Path) -> tuple:
    try:
        found = path.stat()
    except OSError:
        return (str(path), None, None)
    return (str(path), found.st_mtime_ns, found.st_size)


@lru_cache(maxsize=8)
def _checked(folder: Path, states: tuple) -> dict[str, pd.DataFrame]:
    """The tables of ``folder`` read and checked (``states``: the files' modification times
    and sizes, so that an edited file is read again)."""
    hint = "give the rules folder a reference/ folder holding " + ", ".join(TABLES)
    tables = {
        name: read_reference_table(folder / name, types, hint=hint)
        for name, types in TABLES.items()
    }
    problems = [
        *_climate_problems(tables, folder),
        *_floor_problems(tables["pue_climate_floors.csv"], folder / "pue_climate_floors.csv"),
        *_range_problems(tables["plausible_ranges.csv"], folder / "plausible_ranges.csv"),
    ]
    if problems:
        raise RuleError.from_rows(problems)
    tables["gb40879_grades.csv"] = tables["gb40879_grades.csv"].sort_values(
        "max_pue", na_position="last"
    )
    tables["size_classes.csv"] = _contiguous(tables["size_classes.csv"], folder)
    return tables


def check_reference(folder: str | Path | None = None) -> str:
    """Load and check the reference tables; a summary line, or a RuleError listing every
    problem."""
    tables = load_reference(folder)
    where = str(folder) if folder else "packaged"
    return f"reference: {len(tables)} tables, {sum(map(len, tables.values()))} rows ({where})"


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


def _climate_problems(tables: dict, folder: Path) -> list[dict]:
    path, zones = folder / "climate_zones.csv", tables["climate_zones.csv"]
    provinces = load_dictionary().choice_codes("province")
    return [
        *_unknown(zones, "province", provinces, path),
        *_unknown(zones, "climate_zone", CLIMATE_ZONES, path),
        *_duplicated(zones, ["province"], path),
    ]


def _floor_problems(floors: pd.DataFrame, path: Path) -> list[dict]:
    cooling = load_dictionary().choice_codes("cooling_type")
    low = floors["min_pue"].lt(1).fillna(False)
    return [
        *_unknown(floors, "climate_zone", CLIMATE_ZONES, path),
        *_unknown(floors, "cooling_type", cooling, path, blank_ok=True),
        *_duplicated(floors, ["climate_zone", "cooling_type"], path),
        *_rows(floors[low], path, "min_pue", "a PUE floor below 1", "a PUE of at least 1"),
    ]


def _range_problems(ranges: pd.DataFrame, path: Path) -> list[dict]:
    known = ranges["indicator"].isin(list(RANGE_KEYS))
    keyed = ranges["indicator"].map(RANGE_KEYS).fillna("")
    wrong = known & ranges["key_field"].fillna("").ne(keyed)
    fields = "; ".join(f"{name}: {field or 'blank'}" for name, field in RANGE_KEYS.items())
    crossed = ranges["low"].gt(ranges["high"]).fillna(False)
    return [
        *_unknown(ranges, "indicator", tuple(RANGE_KEYS), path),
        *_rows(ranges[wrong], path, "key_field", "not the field its indicator is keyed on", fields),
        *(p for name in RANGE_KEYS for p in _key_problems(ranges, name, path)),
        *_duplicated(ranges, ["indicator", "key"], path),
        *_rows(ranges[crossed], path, "low", "low above high", "low <= high"),
    ]


def _key_problems(ranges: pd.DataFrame, indicator: str, path: Path) -> list[dict]:
    """The keys of ``indicator``'s rows that are no code of the field it is keyed on."""
    field, dictionary = RANGE_KEYS[indicator], load_dictionary()
    codes = dictionary.choice_codes(dictionary.fields[field].choices) if field else ()
    rows = ranges[ranges["indicator"].eq(indicator)]
    return _unknown(rows, "key", codes, path, blank_ok=True)


def _unknown(
    table: pd.DataFrame, column: str, codes, path: Path, *, blank_ok: bool = False
) -> list[dict]:
    values = table[column]
    bad = ~values.isin(list(codes)) & ~(values.isna() & blank_ok)
    expected = ("blank or " if blank_ok else "") + "one of " + ", ".join(codes)
    return _rows(table[bad.fillna(True)], path, column, "unknown code", expected)


def _duplicated(table: pd.DataFrame, keys: list[str], path: Path) -> list[dict]:
    repeated = table[keys].fillna("").duplicated(keep="first")
    what = "the same " + " and ".join(keys) + " as an earlier row"
    return _rows(table[repeated], path, keys[-1], what, "each once")


def _rows(table: pd.DataFrame, path: Path, column: str, message: str, expected: str) -> list[dict]:
    """One problem per row of ``table`` (its file row: the index + 2, after the header)."""
    return [
        table_problem(
            path,
            int(index) + 2,
            column,
            message,
            got="blank" if pd.isna(value) else str(value),
            expected=expected,
        )
        for index, value in table[column].items()
    ]
