"""What a scorecard tool shows a credit analyst, from outcomes (1 = event: the loan defaulted),
predicted PDs and the features.

* **Bins** per feature: a number in quantile bins (``bins`` of ``rules/model/scorecard.csv``;
  a feature with no more distinct values than that gets one bin per value), text by category,
  and a bin ``(missing)`` for blanks. Per bin: loans, events, non-events, event rate, share of the
  loans, and the weight of evidence WoE = ln(share of non-events / share of events), each share
  smoothed by 0.5 per cell (``(n_b + 0.5) / (N + 0.5 k)`` over the feature's k bins), so an empty
  cell never gives an infinity; IV of a bin = (share of non-events - share of events) x WoE.
* **Features**: IV per feature (the sum over its bins), ranked, with its strength
  (``rules/model/iv_strength.csv``: useless < 0.02, weak < 0.1, medium < 0.3, strong).
* **ROC** (``sklearn.metrics.roc_curve``), AUC (``roc_auc_score``), Gini = 2 AUC - 1 and
  KS = max(TPR - FPR) with the PD cut-off where it is reached (loans at or above it flagged).
* **Gains** by decile of PD, riskiest first: loans, events, event rate, the cumulative shares
  of loans, events (the capture rate) and non-events, their difference and the cumulative lift.
* **Calibration** by decile of PD: mean predicted PD against the observed event rate.
* **Points** (scaling in ``rules/model/scorecard.csv``): score = offset - factor x ln(PD / (1 -
  PD)), factor = PDO / ln 2, offset = base score - factor x ln(base odds), so the base score is
  given at the base odds of repaying and every PDO points double them. A contribution c to the
  log-odds (a reason code) is -factor x c points; per feature and bin, the mean points of its
  loans, beside the base points that every loan starts from.

ROC, AUC, KS and gains need loans of both outcomes; without them those tables are empty, WoE
and IV are 0 (nothing to separate), and the scorecard's ``notes`` say why. Deciles are groups
of equal size by rank (ties by order).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .._shared.resources import data_dir
from .._shared.tables import read_reference_table
from .._shared.text import shown
from ..errors import ModelError
from .estimator import RiskModel, prepare

__all__ = [
    "Scaling",
    "Scorecard",
    "bin_feature",
    "bin_table",
    "deciles",
    "load_scaling",
    "load_strengths",
    "pd_score",
    "scorecard",
    "woe_iv",
]

SMOOTHING = 0.5  # added to every cell's events and non-events
MISSING_BIN = "(missing)"  # the bin of blank values (never a category's own name)
SETTINGS = ("base_score", "base_odds", "points_to_double_odds", "bins")


# -- the data files -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Scaling:
    """Points scaling: ``base_score`` at odds of repaying ``base_odds`` : 1, ``pdo`` points to
    double them; ``bins`` quantile bins per numeric feature."""

    base_score: float
    base_odds: float
    pdo: float
    bins: int

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * math.log(self.base_odds)

    def score(self, log_odds: np.ndarray | float) -> np.ndarray:
        """Points of a log-odds of default (``ln(PD / (1 - PD))``)."""
        return self.offset - self.factor * np.asarray(log_odds, dtype=float)

    def points(self, contribution: np.ndarray | float) -> np.ndarray:
        """Points of a contribution to the log-odds of default (a reason: fewer points)."""
        return -self.factor * np.asarray(contribution, dtype=float)


def scaling_path() -> Path:
    return data_dir("rules") / "model" / "scorecard.csv"


@lru_cache(maxsize=8)
def load_scaling(path: str | Path | None = None) -> Scaling:
    """The scaling of ``rules/model/scorecard.csv`` (``setting, value``): every setting once,
    a positive base odds and PDO, two bins or more; all problems in one :class:`ModelError`."""
    path = Path(path) if path else scaling_path()
    table = read_reference_table(path, {"setting": "text", "value": "float64"})
    values = dict(zip(table["setting"], table["value"], strict=True))
    problems = [f"{name} is not set" for name in SETTINGS if name not in values]
    problems += [
        f"{name} is set twice" for name in set(table["setting"][table["setting"].duplicated()])
    ]
    problems += [
        f"{name} must be above 0, got {shown(values[name])}"
        for name in ("base_odds", "points_to_double_odds")
        if name in values and not values[name] > 0
    ]
    if "bins" in values and not (values["bins"] >= 2 and float(values["bins"]).is_integer()):
        problems.append(f"bins must be a whole number of 2 or more, got {shown(values['bins'])}")
    if problems:
        raise ModelError(
            "the scorecard settings cannot be used",
            where=str(path),
            expected=", ".join(SETTINGS) + " with numbers",
            got="; ".join(problems),
        )
    return Scaling(
        values["base_score"],
        values["base_odds"],
        values["points_to_double_odds"],
        int(values["bins"]),
    )


@lru_cache(maxsize=8)
def load_strengths(path: str | Path | None = None) -> pd.DataFrame:
    """The IV strength bands (``strength, min_iv``), lowest first, the first from 0."""
    path = Path(path) if path else data_dir("rules") / "model" / "iv_strength.csv"
    table = read_reference_table(path, {"strength": "text", "min_iv": "float64"})
    table = table.sort_values("min_iv", ignore_index=True)
    if table.empty or table["min_iv"].isna().any() or table["min_iv"].iloc[0] != 0:
        raise ModelError(
            "the IV strength bands cannot be used",
            where=str(path),
            expected="strength, min_iv rows, the lowest band from min_iv 0",
            got=", ".join(
                f"{s} {shown(v)}" for s, v in zip(table["strength"], table["min_iv"], strict=True)
            )
            or "no rows",
        )
    return table


def strength_of(iv: np.ndarray, bands: pd.DataFrame) -> np.ndarray:
    """The strength band of each IV (the last band whose ``min_iv`` it reaches)."""
    position = np.searchsorted(bands["min_iv"].to_numpy(), np.asarray(iv, dtype=float), "right")
    return bands["strength"].to_numpy()[np.maximum(position - 1, 0)]


# -- weight of evidence -------------------------------------------------------------------------
def woe_iv(events: np.ndarray, non_events: np.ndarray) -> pd.DataFrame:
    """Per group: the smoothed shares of events and non-events, WoE and IV (module docstring);
    WoE and IV are 0 when the groups hold loans of one outcome only (nothing to separate)."""
    events = np.asarray(events, dtype=float)
    non_events = np.asarray(non_events, dtype=float)
    both = events.sum() > 0 and non_events.sum() > 0
    events, non_events = events + SMOOTHING, non_events + SMOOTHING
    event_share, non_event_share = events / events.sum(), non_events / non_events.sum()
    woe = np.log(non_event_share / event_share) if both else np.zeros(len(events))
    return pd.DataFrame(
        {
            "event_share": event_share,
            "non_event_share": non_event_share,
            "woe": woe,
            "iv": (non_event_share - event_share) * woe,
        }
    )


@dataclass
class Binned:
    """One feature's bins: a bin code per loan and, per code, its label and bounds."""

    feature: str
    kind: str  # number or category
    codes: np.ndarray
    labels: pd.DataFrame  # code, bin, lower, upper


def bin_feature(values: pd.Series, name: str, numeric: bool, bins: int) -> Binned:
    """Bins of one prepared feature (floats with NaN, or text with NaN)."""
    if numeric:
        return _number_bins(name, values.to_numpy(dtype=float), bins)
    return _category_bins(name, values)


def _number_bins(name: str, values: np.ndarray, bins: int) -> Binned:
    present = values[~np.isnan(values)]
    distinct = np.unique(present)
    if len(distinct) <= bins:
        edges = distinct[1:]
        labels = [(f"= {shown(v)}", v, v) for v in distinct]
    else:
        edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
        labels = _interval_labels(edges)
    codes = np.where(np.isnan(values), len(labels), np.searchsorted(edges, values, "right"))
    rows = [*labels, (MISSING_BIN, np.nan, np.nan)]
    table = pd.DataFrame(rows, columns=["bin", "lower", "upper"]).rename_axis("code")
    return Binned(name, "number", codes.astype(int), table.reset_index())


def _interval_labels(edges: np.ndarray) -> list[tuple[str, float, float]]:
    """``< a``, ``a to < b``, ..., ``>= z`` for the inner ``edges`` of quantile bins."""
    labels = [(f"< {shown(edges[0])}", np.nan, edges[0])]
    labels += [
        (f"{shown(a)} to < {shown(b)}", a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    return [*labels, (f">= {shown(edges[-1])}", edges[-1], np.nan)]


def _category_bins(name: str, values: pd.Series) -> Binned:
    text = values.astype(object)
    levels = sorted({str(v) for v in text[text.notna()]})
    position = {level: code for code, level in enumerate(levels)}
    codes = np.array([len(levels) if v != v or v is None else position[str(v)] for v in text])
    rows = [(level, np.nan, np.nan) for level in levels] + [(MISSING_BIN, np.nan, np.nan)]
    table = pd.DataFrame(rows, columns=["bin", "lower", "upper"]).rename_axis("code")
    return Binned(name, "category", codes.astype(int), table.reset_index())


BIN_COLUMNS = [
    *("feature", "kind", "bin", "lower", "upper", "loans", "events", "non_events"),
    *("event_rate", "loan_share", "event_share", "non_event_share", "woe", "iv"),
]


def bin_table(binned: Binned, y: np.ndarray) -> pd.DataFrame:
    """The feature's non-empty bins with counts, rates, WoE and IV (:data:`BIN_COLUMNS`)."""
    width = len(binned.labels)
    loans = np.bincount(binned.codes, minlength=width)
    events = np.bincount(binned.codes, weights=y, minlength=width).astype(int)
    used = loans > 0
    table = binned.labels[used].reset_index(drop=True)
    table["loans"], table["events"] = loans[used], events[used]
    table["non_events"] = table["loans"] - table["events"]
    table["event_rate"] = table["events"] / table["loans"]
    table["loan_share"] = table["loans"] / max(len(y), 1)
    table = pd.concat([table, woe_iv(table["events"], table["non_events"])], axis=1)
    return table.assign(feature=binned.feature, kind=binned.kind)[["code", *BIN_COLUMNS]]


def feature_table(bins: pd.DataFrame, bands: pd.DataFrame) -> pd.DataFrame:
    """IV per feature, strongest first, with its strength and number of bins."""
    grouped = bins.groupby("feature", sort=False)
    table = pd.DataFrame(
        {"kind": grouped["kind"].first(), "bins": grouped.size(), "iv": grouped["iv"].sum()}
    )
    table = table.sort_values("iv", ascending=False, kind="stable").rename_axis("feature")
    table["strength"] = strength_of(table["iv"].to_numpy(), bands)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index()[["rank", "feature", "kind", "bins", "iv", "strength"]]


# -- performance --------------------------------------------------------------------------------
def deciles(pd_values: np.ndarray) -> np.ndarray:
    """Decile 1 (lowest PD) to 10 of each loan, by rank (ties by order); with fewer than ten
    loans, one group per loan."""
    count = len(pd_values)
    if count < 2:
        return np.ones(count, dtype=int)
    ranks = pd.Series(pd_values).rank(method="first")
    return pd.qcut(ranks, min(10, count), labels=False).to_numpy(dtype=int) + 1


def roc_table(y: np.ndarray, pd_values: np.ndarray) -> pd.DataFrame:
    """The ROC curve: PD cut-off (loans at or above it flagged; blank: none flagged), false
    and true positive rates and their difference (the KS at that cut-off)."""
    from sklearn.metrics import roc_curve  # imported when a scorecard is made

    fpr, tpr, cut = roc_curve(y, pd_values)
    cut = np.where(np.isfinite(cut), cut, np.nan)
    return pd.DataFrame({"pd_cutoff": cut, "fpr": fpr, "tpr": tpr, "ks": tpr - fpr})


def ks_point(roc: pd.DataFrame, pd_values: np.ndarray) -> dict[str, float]:
    """KS, the PD cut-off where it is reached and the share of loans at or above it."""
    best = roc.loc[roc["ks"].idxmax()]
    cut = float(best["pd_cutoff"])
    share = float(np.mean(pd_values >= cut)) if cut == cut else 0.0
    return {
        "ks": float(best["ks"]),
        "ks_pd_cutoff": cut,
        "ks_loan_share": share,
        "ks_tpr": float(best["tpr"]),
        "ks_fpr": float(best["fpr"]),
    }


GAIN_COLUMNS = [
    *("decile", "loans", "events", "event_rate", "min_pd", "max_pd"),
    *("cum_loan_share", "cum_event_share", "cum_non_event_share", "ks", "cum_lift"),
]


def gains_table(y: np.ndarray, pd_values: np.ndarray) -> pd.DataFrame:
    """By decile of PD, riskiest first (:data:`GAIN_COLUMNS`); needs events and non-events."""
    frame = pd.DataFrame({"decile": deciles(pd_values), "pd": pd_values, "y": y})
    grouped = frame.groupby("decile").agg(
        loans=("y", "size"), events=("y", "sum"), min_pd=("pd", "min"), max_pd=("pd", "max")
    )
    table = grouped.sort_index(ascending=False).reset_index()
    table["event_rate"] = table["events"] / table["loans"]
    non_events = table["loans"] - table["events"]
    table["cum_loan_share"] = table["loans"].cumsum() / len(y)
    table["cum_event_share"] = table["events"].cumsum() / y.sum()
    table["cum_non_event_share"] = non_events.cumsum() / (len(y) - y.sum())
    table["ks"] = table["cum_event_share"] - table["cum_non_event_share"]
    table["cum_lift"] = table["cum_event_share"] / table["cum_loan_share"]
    return table.astype({"events": int})[GAIN_COLUMNS]


def calibration_frame(y: np.ndarray, pd_values: np.ndarray) -> pd.DataFrame:
    """By decile of PD, lowest first: loans, events, mean PD, observed event rate and their
    difference."""
    frame = pd.DataFrame({"decile": deciles(pd_values), "pd": pd_values, "y": y})
    table = frame.groupby("decile").agg(
        loans=("y", "size"), events=("y", "sum"), mean_pd=("pd", "mean"), event_rate=("y", "mean")
    )
    table["difference"] = table["event_rate"] - table["mean_pd"]
    return table.reset_index().astype({"events": int})


# -- points -------------------------------------------------------------------------------------
BASE = "(base)"  # the points row of the base log-odds
POINT_COLUMNS = [
    *("feature", "bin", "loans", "mean_contribution", "points", "min_points", "max_points"),
]


def point_table(
    binned: list[Binned], contributions: pd.DataFrame, base: np.ndarray, scaling: Scaling
) -> pd.DataFrame:
    """The base points every loan starts from, then per feature and bin its loans' mean
    contribution to the log-odds and their points (mean, least, most)."""
    base_points = float(np.mean(scaling.score(base)))
    rows = [
        {
            "feature": BASE,
            "bin": "",
            "loans": len(base),
            "mean_contribution": float(np.mean(base)),
            **dict.fromkeys(("points", "min_points", "max_points"), base_points),
        }
    ]
    for one in binned:
        points = pd.Series(scaling.points(contributions[one.feature].to_numpy()))
        logs = pd.Series(contributions[one.feature].to_numpy())
        per_bin = pd.DataFrame({"code": one.codes, "c": logs, "p": points}).groupby("code")
        found = per_bin.agg(
            loans=("c", "size"),
            mean_contribution=("c", "mean"),
            points=("p", "mean"),
            min_points=("p", "min"),
            max_points=("p", "max"),
        )
        found = found.join(one.labels.set_index("code")["bin"]).assign(feature=one.feature)
        rows += found.to_dict("records")
    return pd.DataFrame(rows, columns=POINT_COLUMNS)


# -- the whole scorecard ------------------------------------------------------------------------
@dataclass
class Scorecard:
    """The tables of a scorecard and the facts they rest on. ``notes`` are keys of the
    ``scorecard.notes`` wording (``templates/report/<lang>.yaml``), filled with the facts."""

    facts: dict[str, object]
    bins: pd.DataFrame
    features: pd.DataFrame
    points: pd.DataFrame
    roc: pd.DataFrame = field(default_factory=pd.DataFrame)
    gains: pd.DataFrame = field(default_factory=pd.DataFrame)
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)

    @property
    def has_performance(self) -> bool:
        """ROC, KS and gains could be computed (the tested loans have both outcomes)."""
        return not self.roc.empty


def scorecard(
    frame: pd.DataFrame,
    y: np.ndarray,
    model: RiskModel,
    *,
    tested: np.ndarray | None = None,
    pd_values: np.ndarray | None = None,
    notes: tuple[str, ...] = (),
    scaling: Scaling | None = None,
) -> Scorecard:
    """The scorecard of ``model`` on ``frame`` (one row per loan, outcomes ``y``): bins, WoE,
    IV and points on the development rows, the ROC, KS, gains and calibration of the PDs on
    the rows in ``tested`` (a boolean mask, default every row; the development rows are the
    others, or every row when all are tested). ``pd_values`` are the tested rows' PDs when
    already known (else the model's: the sigmoid of its base and contributions, which add
    up to its log-odds); ``notes`` are added to the scorecard's own."""
    scaling = scaling or load_scaling()
    y = np.asarray(y, dtype=int)
    tested = np.ones(len(y), dtype=bool) if tested is None else np.asarray(tested, dtype=bool)
    developed = ~tested if tested.any() and not tested.all() else np.ones(len(y), dtype=bool)
    inputs = prepare(frame, model.numeric, model.categorical)
    if not developed.any():
        raise ModelError("no loans to build a scorecard on", expected="one loan or more")
    contributions, base = model.contributions(inputs, inputs)
    binned = [
        bin_feature(inputs[name][developed], name, name in model.numeric, scaling.bins)
        for name in model.features
    ]
    bins = pd.concat([bin_table(one, y[developed]) for one in binned], ignore_index=True)
    if y[developed].sum() in (0, developed.sum()):
        notes = (*notes, "one_outcome_bins")
    card = Scorecard(
        {"model": f"{model.kind} {model.card.get('sha256', '')[:12]}".strip()}
        | _facts(y[developed]),
        bins.drop(columns="code"),
        feature_table(bins, load_strengths()),
        point_table(binned, contributions[developed], base[developed], scaling),
        notes=list(notes),
    )
    if pd_values is None:
        log_odds = base[tested] + contributions[tested].to_numpy().sum(axis=1)
        pd_values = 1.0 / (1.0 + np.exp(-log_odds))
    add_performance(card, y[tested], np.asarray(pd_values, dtype=float), scaling)
    card.facts |= _scaling_facts(scaling)
    return card


def _facts(y: np.ndarray) -> dict[str, object]:
    return {"loans": len(y), "events": int(y.sum()), "event_rate": float(y.mean())}


def _scaling_facts(scaling: Scaling) -> dict[str, object]:
    return {
        "base_score": scaling.base_score,
        "base_odds": scaling.base_odds,
        "points_to_double_odds": scaling.pdo,
        "factor": scaling.factor,
        "offset": scaling.offset,
        "bins": scaling.bins,
    }


def pd_score(pd_values: np.ndarray, scaling: Scaling) -> np.ndarray:
    """The points of PDs (a PD of 0 or 1 taken as 1e-12 from it, so the score stays finite)."""
    clipped = np.clip(np.asarray(pd_values, dtype=float), 1e-12, 1 - 1e-12)
    return scaling.score(np.log(clipped / (1 - clipped)))


def add_performance(card: Scorecard, y: np.ndarray, pd_values: np.ndarray, scaling: Scaling):
    """The tested loans' calibration (any loans), ROC, KS and gains (both outcomes needed)."""
    from sklearn.metrics import roc_auc_score  # imported when a scorecard is made

    events = int(y.sum())
    card.facts |= {"tested_loans": len(y), "tested_events": events}
    if not len(y):
        card.notes.append("none_tested")
        return
    card.calibration = calibration_frame(y, pd_values)
    if events in (0, len(y)):
        card.notes.append("one_outcome")
        return
    card.roc = roc_table(y, pd_values)
    card.roc["score_cutoff"] = pd_score(card.roc["pd_cutoff"], scaling)
    card.gains = gains_table(y, pd_values)
    auc = float(roc_auc_score(y, pd_values))
    point = ks_point(card.roc, pd_values)
    point["ks_score_cutoff"] = float(pd_score(point["ks_pd_cutoff"], scaling))
    card.facts |= {"tested_event_rate": events / len(y), "auc": auc, "gini": 2 * auc - 1, **point}
