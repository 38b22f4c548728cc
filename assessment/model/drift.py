"""Drift: the population stability index (PSI) and the stable / watch / act bands.

``drift(model, frame)`` is the PSI per feature and for the score against the model's training
distributions, each with its band; :func:`psi` and :func:`band` serve ``assess monitor`` too.

The bands are data: ``rules/monitor/bands.csv`` holds, per measure, the limit below which each
band applies (``psi``: below 0.1 stable, 0.1-0.25 watch, above 0.25 act; ``pass_rate_shift_pp``:
the absolute change of a rate in percentage points)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .._shared.resources import data_dir
from .._shared.tables import read_reference_table
from .._shared.text import shown
from ..errors import AssessmentError
from .estimator import RiskModel, prepare
from .training import bin_shares

BANDS = ("stable", "watch", "act")
_FLOOR = 1e-4  # an empty bin's share in the PSI
NOT_COMPARED = "not compared"
HINTS = {
    "psi": "PSI limits, e.g. 0.1 and 0.25",
    "pass_rate_shift_pp": "limits are absolute shifts in percentage points, e.g. 5 and 10",
}


def bands_path() -> Path:
    return data_dir("rules") / "monitor" / "bands.csv"


@lru_cache(maxsize=8)
def load_bands(measure: str, path: str | Path | None = None) -> pd.DataFrame:
    """The bands of ``measure``: ``band`` and ``below`` (infinite on the last), checked."""
    path = Path(path) if path else bands_path()
    table = read_reference_table(path, dict.fromkeys(("measure", "band", "below"), "text"))
    rows = table[table["measure"] == measure]
    limits = pd.to_numeric(rows["below"], errors="coerce").to_numpy()
    if list(rows["band"]) != list(BANDS) or not _rising(limits):
        raise AssessmentError(
            f"bad {measure} bands",
            where=str(path),
            expected="rows stable, watch, act with rising limits in 'below', the last blank",
            got=_shown(rows) or "no rows",
            hint=HINTS.get(measure, ""),
        )
    rows = rows.assign(below=np.where(np.isnan(limits), np.inf, limits))
    return rows[["band", "below"]].reset_index(drop=True)


def _shown(rows: pd.DataFrame) -> str:
    return "; ".join(f"{b} below {v}" for b, v in zip(rows["band"], rows["below"], strict=True))


def _rising(limits: np.ndarray) -> bool:
    inner = limits[:-1]
    return bool(np.isnan(limits[-1]) and np.all(np.diff(inner) > 0) and np.all(inner > 0))


def banded(values, measure: str, limits: pd.DataFrame | None = None) -> np.ndarray:
    """The band of each value's size: the first whose ``below`` it is under; NaN is
    ``not compared``."""
    limits = load_bands(measure) if limits is None else limits
    size = np.abs(np.asarray(values, dtype=float))
    edges, names = limits["below"].to_numpy(dtype=float), limits["band"].to_numpy(dtype=object)
    found = names[np.minimum(np.searchsorted(edges, size, side="right"), len(names) - 1)]
    return np.where(np.isnan(size), NOT_COMPARED, found)


def limits_text(measure: str) -> str:
    """``stable below 0.1, watch below 0.25, act above``."""
    rows = load_bands(measure).to_dict("records")
    limits = [f"{row['band']} below {shown(row['below'])}" for row in rows[:-1]]
    return ", ".join([*limits, f"{rows[-1]['band']} above"])


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index of two share vectors (empty bins floored at 0.01 %)."""
    e = np.maximum(np.asarray(expected, dtype=float), _FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def band(value: float) -> str:
    """The PSI band of ``value`` (limits in ``rules/monitor/bands.csv``, measure ``psi``)."""
    return str(banded([value], "psi")[0])


def drift(model: RiskModel, frame: pd.DataFrame) -> pd.DataFrame:
    """PSI per feature and for the score (``__score__``), with its band, sorted worst first."""
    inputs = prepare(frame, model.numeric, model.categorical)
    rows = [
        _numeric_psi(name, inputs[name].to_numpy(dtype=float), model.reference[name])
        for name in model.numeric
    ]
    rows += [_category_psi(name, inputs[name], model.reference[name]) for name in model.categorical]
    rows.append(_numeric_psi("__score__", model.predict_pd(frame), model.reference["__score__"]))
    table = pd.DataFrame(rows, columns=["feature", "psi"])
    table["band"] = table["psi"].map(band)
    return table.sort_values("psi", ascending=False, ignore_index=True)


def _numeric_psi(name: str, values: np.ndarray, reference: dict) -> tuple[str, float]:
    actual = bin_shares(values, reference["edges"])
    return name, round(psi(reference["shares"], actual), 6)


def _category_psi(name: str, values: pd.Series, reference: dict) -> tuple[str, float]:
    levels = reference["levels"]
    shares = values.fillna("missing").value_counts(normalize=True)
    keys = sorted(set(levels) | set(map(str, shares.index)))
    actual = [float(shares.get(key, 0.0)) for key in keys]
    return name, round(psi([levels.get(key, 0.0) for key in keys], actual), 6)
