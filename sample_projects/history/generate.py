"""Write ``loan_history.parquet``: a SYNTHETIC loan history for training the credit-risk model.

Run from anywhere::

    python sample_projects/history/generate.py

SYNTHETIC DATA. Every loan, project and sponsor is invented by this script from
``numpy.random.default_rng(2025)``; nothing is calibrated to, sampled from or checked against
any real loan portfolio, bank or company. The directions of the effects are plausible, their
sizes are made up. Use the file to exercise the training and scoring pipeline, never to
estimate real default rates. The parquet file says so in its schema metadata too.

One row per past loan (``N_LOANS`` = 6,500), columns named as the engine's fields and
indicators (``templates/application/fields.csv``, README section Indicators), in base units:
CNY, MW, years, fractions 0-1.

Population (draws in this order; U = uniform, N = normal)
---------------------------------------------------------
* Origination year 2012-2022, weight 1 + 0.25 x (year - 2012): lending grows over time.
* Sponsor: one of 300 names "Synthetic Sponsor NNN", weight 1 / rank^0.8 (a few large
  sponsors). One project per loan: ``project_id`` "HP-<year>-<nnnnn>", ``loan_id`` "H-nnnnnn".
* Province: the mainland provinces of ``templates/application/choices.csv`` (not Hong Kong,
  Macau, Taiwan) by ``PROVINCE_WEIGHTS`` (others 1). ``hub_zone``: the ``zone`` of the
  province's ``hub`` in choices.csv (east / west), "none" for a province outside the hubs;
  today's hub map is used for every vintage, as the engine does for a scored project.
* Facility type: general 62 %, intelligent computing 14 %, supercomputing 4 %, edge 20 %
  (before 2018 the intelligent-computing share goes to general).
* Project kind: new 35 %, expansion 20 %, retrofit 10 %, operating 35 %; edge sites and
  intelligent-computing centres are never retrofits (redrawn as new builds).
  Asset rights: ownership 85 %, operating right 15 %.
* Racks (standard 2.5 kW racks): lognormal with the median and sigma of ``RACKS_BY_TYPE``,
  clipped; IT load = racks x 2.5 kW x U(0.9, 1.1); ``size_class`` from racks exactly as the
  engine (<= 100 edge, < 3,000 small, < 10,000 large, else super_large).
* PUE (``pue_assessed``): 1.62 - 0.028 x (year - 2012), -0.08 in a western hub, +0.10 edge,
  -0.04 intelligent computing, -0.10 retrofit (the design PUE after works), + N(0, 0.07),
  clipped to 1.08-2.2. Green-power share: Beta(2, 8) (mean 0.2), Beta(5, 4) in hydro and
  wind provinces (``GREEN_PROVINCES``), + 0.01 x (year - 2012), clipped to 0-1.
* Operating years at origination: none for a new build; expansion U(1, 8), retrofit U(5, 15),
  operating U(0.5, 12). Rack utilisation (existing facilities only):
  0.85 - 0.45 x exp(-operating_years / 2) - 0.06 in a western hub + N(0, 0.12),
  clipped to 0.05-1.
* Contracts: contracted revenue share Beta(3, 2.5) +0.15 for intelligent computing and
  supercomputing, -0.15 for edge, clipped to 0-1; largest-tenant share
  Beta(2, 5) + 0.2 x contracted share, clipped to 0.02-1; WALE = Gamma(3, 1) + 6 x contracted
  share years, clipped to 0.5-20. Tenor (whole years): new build and expansion U{8..15},
  operating U{5..12}, retrofit U{3..8}.
* Funding: total investment = IT load x CNY 8-12 m per MW (x 1.5 intelligent computing,
  x 2.0 supercomputing, x 1.3 edge) x U(1.03, 1.10) for land; a retrofit costs CNY 1.5-3 m
  per MW. Leverage (loan / total investment) 0.25 + 0.6 x Beta(4, 4); other funding (grants,
  shareholder loans) U(0, 0.10) for half the loans, else 0, cut so that equity is at least
  0.10; equity_ratio = 1 - leverage - other funding. Loan = leverage x investment; amounts
  rounded to CNY 10,000 and leverage recomputed from them. LTV = loan / appraised value, the
  appraised value (as-complete for a new build) = investment x lognormal(ln 1.1, 0.15).
* DSCR (``dscr_min``, minimum of the base-case years) = 1.40 x exp(-0.8 (leverage - 0.55)
  + 0.5 (contracted - 0.55) + 0.4 (utilisation - 0.7) - 0.5 (PUE - 1.4) + N(0, 0.15)),
  utilisation taken as 0.7 for a new build; clipped to 0.5-4. So DSCR carries part of the
  other risks, as a real one does.

True model of default (``defaulted``: default within the loan life or 5 years)
------------------------------------------------------------------------------
``defaulted`` ~ Bernoulli(sigmoid(z)), i.e. 1 when z + logistic noise > 0, with (coefficients
in ``COEFFICIENTS``; values as written to the file before masking, new-build terms 0)::

    z = -3.65                                  base: 2.5 % with every centred term at 0
        - 1.40 x (dscr_min - 1.3)              DSCR: the strongest driver ...
        + 5.00 x max(0, 1.1 - dscr_min)        ... and sharply worse below 1.1 (hinge)
        + 2.00 x (leverage - 0.55)
        + 1.50 x (ltv - 0.5)
        + 1.50 x (top_tenant_share - 0.35)
        + 2.50 x (pue_assessed - 1.4)          energy cost
        + 0.12 x max(0, loan_tenor_years - wale_years)   tenor beyond the contracts
        - 1.20 x (contracted_revenue_share - 0.55)
        - 1.50 x (rack_utilisation - 0.7)      existing facilities only
        - 0.06 x min(operating_years, 10)      existing facilities only
        + 0.40 x [project_kind = new]          construction risk
        - 1.50 x (equity_ratio - 0.35)         (with leverage: other funding adds risk)
        + 0.25 x [facility_type = edge]
        - 0.30 x [hub_zone = west]             cheaper power
        + ln(min(loan_tenor_years, 5) / 5)     a shorter loan has less time to default

The mean of sigmoid(z) over the population is about 7.8 % (realised: see README.md); the
oracle AUC of z is about 0.84. Nothing else (year, province, sponsor, size, green power, asset
rights) affects default, except through the drivers above (older vintages have a higher PUE).
The outcome is drawn for the whole window of every loan: unlike a real history, recent
vintages are not right-censored.

Missing values (after the outcome is drawn; the truth uses the complete values)
------------------------------------------------------------------------------
* By project kind: ``rack_utilisation`` and ``operating_years`` are empty for every new build
  (the engine does not ask a new build for them); ``ltv`` is missing for 15 % of new builds
  (no appraisal) and 6 % of the others; ``wale_years`` for 20 % of new builds (no pre-lease)
  and 6 % of the others.
* Completely at random: ``rack_utilisation`` 5 % of existing facilities, ``green_power_share``
  8 %, ``top_tenant_share`` 6 %, ``contracted_revenue_share`` 4 %, ``pue_assessed`` 3 %,
  ``dscr_min`` 2 %.

Output: parquet written with pyarrow, a fixed schema (``SCHEMA``), no pandas metadata and no
timestamps, snappy compression; the same code and library versions give the same bytes.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHOICES = ROOT / "templates" / "application" / "choices.csv"
OUTPUT = HERE / "loan_history.parquet"
SEED = 2025
N_LOANS = 6_500
YEARS = np.arange(2012, 2023)
N_SPONSORS = 300
NOT_MAINLAND = {"hong_kong", "macau", "taiwan"}
PROVINCE_WEIGHTS = {
    "guangdong": 10, "jiangsu": 7, "hebei": 6, "zhejiang": 6, "shanghai": 5, "beijing": 4,
    "guizhou": 5, "inner_mongolia": 5, "sichuan": 4, "anhui": 3, "chongqing": 3, "ningxia": 3,
    "tianjin": 2, "gansu": 2, "shandong": 3, "hubei": 2, "henan": 2, "fujian": 2, "shaanxi": 2,
}  # fmt: skip
GREEN_PROVINCES = {"guizhou", "sichuan", "yunnan", "inner_mongolia", "ningxia", "gansu", "qinghai"}
FACILITY_MIX = {
    "general": 0.62,
    "intelligent_computing": 0.14,
    "supercomputing": 0.04,
    "edge": 0.20,
}
KIND_MIX = {"new": 0.35, "expansion": 0.20, "retrofit": 0.10, "operating": 0.35}
RACKS_BY_TYPE = {  # median, sigma of ln(racks), min, max
    "general": (1500, 1.0, 50, 40_000),
    "intelligent_computing": (1500, 0.9, 100, 30_000),
    "supercomputing": (600, 0.8, 100, 10_000),
    "edge": (40, 0.6, 4, 300),
}
COST_FACTOR = {"general": 1.0, "intelligent_computing": 1.5, "supercomputing": 2.0, "edge": 1.3}
SIZE_LIMITS = (101, 3000, 10_000)  # first rack count of small, large, super_large
SIZE_CLASSES = np.array(["edge", "small", "large", "super_large"])
COEFFICIENTS = {
    "intercept": -3.65,
    "dscr": -1.40,
    "dscr_below_1_1": 5.00,
    "leverage": 2.00,
    "ltv": 1.50,
    "top_tenant_share": 1.50,
    "pue": 2.50,
    "tenor_beyond_wale": 0.12,
    "contracted_revenue_share": -1.20,
    "rack_utilisation": -1.50,
    "operating_years": -0.06,
    "new_build": 0.40,
    "equity_ratio": -1.50,
    "edge": 0.25,
    "west": -0.30,
}
MISSING_BY_KIND = {"ltv": (0.15, 0.06), "wale_years": (0.20, 0.06)}  # new builds, others
MISSING_AT_RANDOM = {
    "green_power_share": 0.08,
    "top_tenant_share": 0.06,
    "rack_utilisation": 0.05,
    "contracted_revenue_share": 0.04,
    "pue_assessed": 0.03,
    "dscr_min": 0.02,
}
STRINGS = ("loan_id", "project_id", "sponsor", "facility_type", "province", "hub_zone")
STRINGS += ("size_class", "project_kind", "asset_rights")
FLOATS = ("it_load_mw", "pue_assessed", "green_power_share", "rack_utilisation", "dscr_min")
FLOATS += ("leverage", "equity_ratio", "ltv", "contracted_revenue_share", "top_tenant_share")
FLOATS += ("wale_years", "loan_tenor_years", "operating_years", "total_investment_cny")
FLOATS += ("loan_amount_cny",)
SCHEMA = pa.schema(
    [pa.field(name, pa.string()) for name in STRINGS[:3]]
    + [pa.field("origination_year", pa.int64())]
    + [pa.field(name, pa.string()) for name in STRINGS[3:]]
    + [pa.field("racks", pa.int64())]
    + [pa.field(name, pa.float64()) for name in FLOATS]
    + [pa.field("defaulted", pa.int8())],
    metadata={
        "synthetic": "true",
        "description": "SYNTHETIC example loan history; not real loans, not calibrated",
        "generator": "sample_projects/history/generate.py",
        "seed": str(SEED),
    },
)


# ============================================================================================
# Population
# ============================================================================================
def provinces() -> pd.DataFrame:
    """Mainland provinces with their draw weight and hub zone, from choices.csv."""
    with CHOICES.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    zones = {r["code"]: r["zone"] for r in rows if r["set"] == "hub" and r["code"] != "none"}
    table = pd.DataFrame(
        [
            (r["code"], zones.get(r["hub"], "none"), PROVINCE_WEIGHTS.get(r["code"], 1))
            for r in rows
            if r["set"] == "province" and r["code"] not in NOT_MAINLAND
        ],
        columns=["province", "hub_zone", "weight"],
    )
    table["weight"] /= table["weight"].sum()
    return table


def pick(rng: np.random.Generator, mix: dict[str, float], n: int) -> np.ndarray:
    """``n`` draws of the keys of ``mix`` with its probabilities."""
    return rng.choice(np.array(list(mix)), size=n, p=np.array(list(mix.values())))


def draw_identity(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Ids, vintage, sponsor, site and kind of every loan."""
    year_weights = 1 + 0.25 * (YEARS - YEARS[0])
    years = rng.choice(YEARS, size=n, p=year_weights / year_weights.sum())
    sponsor_weights = 1 / np.arange(1, N_SPONSORS + 1) ** 0.8
    sponsor = rng.choice(N_SPONSORS, size=n, p=sponsor_weights / sponsor_weights.sum()) + 1
    sites = provinces()
    site = rng.choice(len(sites), size=n, p=sites["weight"].to_numpy())
    number = np.arange(1, n + 1)
    return pd.DataFrame(
        {
            "loan_id": [f"H-{i:06d}" for i in number],
            "project_id": [f"HP-{y}-{i:05d}" for y, i in zip(years, number, strict=True)],
            "sponsor": [f"Synthetic Sponsor {s:03d}" for s in sponsor],
            "origination_year": years,
            "province": sites["province"].to_numpy()[site],
            "hub_zone": sites["hub_zone"].to_numpy()[site],
        }
    )


def draw_kind(rng: np.random.Generator, frame: pd.DataFrame) -> None:
    """Facility type, project kind and asset rights."""
    n = len(frame)
    facility = pick(rng, FACILITY_MIX, n)
    facility[(facility == "intelligent_computing") & (frame["origination_year"] < 2018)] = "general"
    kind = pick(rng, KIND_MIX, n)
    kind[(kind == "retrofit") & np.isin(facility, ["edge", "intelligent_computing"])] = "new"
    frame["facility_type"] = facility
    frame["project_kind"] = kind
    frame["asset_rights"] = pick(rng, {"ownership": 0.85, "operating_right": 0.15}, n)


# ============================================================================================
# Facility
# ============================================================================================
def draw_scale(rng: np.random.Generator, frame: pd.DataFrame) -> None:
    """Standard racks, IT load and size class."""
    racks = np.zeros(len(frame))
    for facility, (median, sigma, low, high) in RACKS_BY_TYPE.items():
        rows = (frame["facility_type"] == facility).to_numpy()
        racks[rows] = np.clip(rng.lognormal(np.log(median), sigma, rows.sum()), low, high)
    racks = np.round(racks).astype(np.int64)
    frame["racks"] = racks
    frame["it_load_mw"] = np.round(racks * 2.5e-3 * rng.uniform(0.9, 1.1, len(frame)), 3)
    frame["size_class"] = SIZE_CLASSES[np.searchsorted(SIZE_LIMITS, racks, side="right")]


def draw_energy(rng: np.random.Generator, frame: pd.DataFrame) -> None:
    """Assessed PUE and green-power share."""
    n = len(frame)
    pue = 1.62 - 0.028 * (frame["origination_year"] - 2012) + rng.normal(0, 0.07, n)
    pue -= 0.08 * (frame["hub_zone"] == "west") + 0.10 * (frame["project_kind"] == "retrofit")
    pue += 0.10 * (frame["facility_type"] == "edge")
    pue -= 0.04 * (frame["facility_type"] == "intelligent_computing")
    frame["pue_assessed"] = np.round(np.clip(pue, 1.08, 2.2), 2)
    green = np.where(
        frame["province"].isin(GREEN_PROVINCES), rng.beta(5, 4, n), rng.beta(2, 8, n)
    ) + 0.01 * (frame["origination_year"] - 2012)
    frame["green_power_share"] = np.round(np.clip(green, 0, 1), 3)


def draw_operations(rng: np.random.Generator, frame: pd.DataFrame) -> None:
    """Operating years at origination and rack utilisation (none for a new build)."""
    n = len(frame)
    kind = frame["project_kind"].to_numpy()
    years = np.select(
        [kind == "expansion", kind == "retrofit", kind == "operating"],
        [rng.uniform(1, 8, n), rng.uniform(5, 15, n), rng.uniform(0.5, 12, n)],
        default=np.nan,
    )
    ramp = 0.85 - 0.45 * np.exp(-years / 2) - 0.06 * (frame["hub_zone"] == "west")
    utilisation = np.clip(ramp + rng.normal(0, 0.12, n), 0.05, 1)
    frame["operating_years"] = np.round(years, 1)
    frame["rack_utilisation"] = np.round(utilisation, 3)


# ============================================================================================
# Contracts and funding
# ============================================================================================
def draw_contracts(rng: np.random.Generator, frame: pd.DataFrame) -> None:
    """Contracted revenue, tenant concentration, WALE and loan tenor."""
    n = len(frame)
    facility = frame["facility_type"]
    anchor = 0.15 * facility.isin(["intelligent_computing", "supercomputing"]).to_numpy()
    contracted = np.clip(rng.beta(3, 2.5, n) + anchor - 0.15 * (facility == "edge"), 0, 1)
    frame["contracted_revenue_share"] = np.round(contracted, 3)
    top = np.clip(rng.beta(2, 5, n) + 0.2 * contracted, 0.02, 1)
    frame["top_tenant_share"] = np.round(top, 3)
    frame["wale_years"] = np.round(np.clip(rng.gamma(3, 1, n) + 6 * contracted, 0.5, 20), 1)
    kind = frame["project_kind"].to_numpy()
    tenor = np.select(
        [np.isin(kind, ["new", "expansion"]), kind == "operating"],
        [rng.integers(8, 16, n), rng.integers(5, 13, n)],
        default=rng.integers(3, 9, n),
    )
    frame["loan_tenor_years"] = tenor.astype(np.float64)


def draw_funding(rng: np.random.Generator, frame: pd.DataFrame) -> None:
    """Investment, loan, leverage, equity ratio and LTV."""
    n = len(frame)
    per_mw = rng.uniform(8e6, 12e6, n) * frame["facility_type"].map(COST_FACTOR).to_numpy()
    per_mw *= rng.uniform(1.03, 1.10, n)
    retrofit = (frame["project_kind"] == "retrofit").to_numpy()
    per_mw[retrofit] = rng.uniform(1.5e6, 3e6, retrofit.sum())
    investment = np.round(frame["it_load_mw"].to_numpy() * per_mw, -4)
    share = 0.25 + 0.6 * rng.beta(4, 4, n)
    loan = np.round(share * investment, -4)
    leverage = loan / investment
    other = np.where(rng.random(n) < 0.5, rng.uniform(0, 0.10, n), 0.0)
    other = np.minimum(other, np.maximum(0.0, 0.90 - leverage))
    value = investment * rng.lognormal(np.log(1.1), 0.15, n)
    frame["leverage"] = np.round(leverage, 4)
    frame["equity_ratio"] = np.round(1 - leverage - other, 4)
    frame["ltv"] = np.round(loan / value, 4)
    frame["total_investment_cny"] = investment
    frame["loan_amount_cny"] = loan


def draw_dscr(rng: np.random.Generator, frame: pd.DataFrame) -> None:
    """Minimum DSCR of the base case, partly driven by the other risks."""
    utilisation = frame["rack_utilisation"].fillna(0.7)
    log_dscr = (
        -0.8 * (frame["leverage"] - 0.55)
        + 0.5 * (frame["contracted_revenue_share"] - 0.55)
        + 0.4 * (utilisation - 0.7)
        - 0.5 * (frame["pue_assessed"] - 1.4)
        + rng.normal(0, 0.15, len(frame))
    )
    frame["dscr_min"] = np.round(np.clip(1.40 * np.exp(log_dscr), 0.5, 4), 2)


# ============================================================================================
# Outcome and missing values
# ============================================================================================
def true_logit(frame: pd.DataFrame) -> np.ndarray:
    """Log-odds of default of the true model (module docstring), from complete values."""
    c, f = COEFFICIENTS, frame
    dscr = f["dscr_min"]
    z = (
        c["intercept"]
        + c["dscr"] * (dscr - 1.3)
        + c["dscr_below_1_1"] * (1.1 - dscr).clip(lower=0)
        + c["leverage"] * (f["leverage"] - 0.55)
        + c["ltv"] * (f["ltv"] - 0.5)
        + c["top_tenant_share"] * (f["top_tenant_share"] - 0.35)
        + c["pue"] * (f["pue_assessed"] - 1.4)
        + c["tenor_beyond_wale"] * (f["loan_tenor_years"] - f["wale_years"]).clip(lower=0)
        + c["contracted_revenue_share"] * (f["contracted_revenue_share"] - 0.55)
        + c["equity_ratio"] * (f["equity_ratio"] - 0.35)
    )
    return (z + operating_terms(f) + site_terms(f)).to_numpy(dtype=np.float64)


def operating_terms(frame: pd.DataFrame) -> pd.Series:
    """Construction risk of a new build, track record of an existing facility, exposure."""
    c = COEFFICIENTS
    existing = c["rack_utilisation"] * (frame["rack_utilisation"] - 0.7) + c[
        "operating_years"
    ] * frame["operating_years"].clip(upper=10)
    track = existing.where(frame["project_kind"] != "new", c["new_build"])
    return track + np.log(frame["loan_tenor_years"].clip(upper=5) / 5)


def site_terms(frame: pd.DataFrame) -> pd.Series:
    """Edge sites are riskier; western hubs have cheaper power."""
    c = COEFFICIENTS
    edge = c["edge"] * (frame["facility_type"] == "edge")
    return edge + c["west"] * (frame["hub_zone"] == "west")


def mask_missing(rng: np.random.Generator, frame: pd.DataFrame) -> None:
    """Blank values: by project kind, then completely at random (module docstring)."""
    new = (frame["project_kind"] == "new").to_numpy()
    frame.loc[new, ["rack_utilisation", "operating_years"]] = np.nan
    for column, (rate_new, rate_other) in MISSING_BY_KIND.items():
        blank = rng.random(len(frame)) < np.where(new, rate_new, rate_other)
        frame.loc[blank, column] = np.nan
    for column, rate in MISSING_AT_RANDOM.items():
        frame.loc[rng.random(len(frame)) < rate, column] = np.nan


# ============================================================================================
# The whole history
# ============================================================================================
def simulate(seed: int = SEED, n: int = N_LOANS) -> pd.DataFrame:
    """The loan history in the column order of ``SCHEMA``, plus the column ``true_logit``
    (the oracle log-odds, for checks only: it is not written to the file)."""
    rng = np.random.default_rng(seed)
    frame = draw_identity(rng, n)
    for step in (draw_kind, draw_scale, draw_energy, draw_operations, draw_contracts):
        step(rng, frame)
    draw_funding(rng, frame)
    draw_dscr(rng, frame)
    logit = true_logit(frame)
    frame["defaulted"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    mask_missing(rng, frame)
    frame = frame[SCHEMA.names].copy()
    frame["true_logit"] = logit
    return frame


def write(frame: pd.DataFrame, path: Path = OUTPUT) -> None:
    """Write the history (without ``true_logit``) with the fixed schema, no pandas metadata."""
    table = pa.Table.from_pandas(frame[SCHEMA.names], schema=SCHEMA, preserve_index=False)
    table = table.replace_schema_metadata(SCHEMA.metadata)
    pq.write_table(table, path, compression="snappy", write_statistics=False)


def main() -> None:
    frame = simulate()
    write(frame)
    rate = frame["defaulted"].mean()
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(frame):,} SYNTHETIC loans, {rate:.1%} defaulted")


if __name__ == "__main__":
    main()
