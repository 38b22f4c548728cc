"""Regenerate every sample input in ``sample_projects/`` from readable sources.

Run from anywhere::

    python sample_projects/build.py            # write the workbooks, the lists and README table
    python sample_projects/build.py --check    # ... then read them back and compare problems
    python sample_projects/build.py --verify   # write nothing: compare the files as they are

What it writes:

* one official application workbook per ``[[project]]`` of ``source/projects.toml``, through
  the engine's own template writer (:func:`assessment.write_template`); a project that
  ``expect``s an error is broken on purpose and goes to ``broken/``;
* ``candidates/candidate_list_2025.xlsx``: a plain spreadsheet of the 210 candidate projects
  made by :func:`candidate_projects` (seeded, see its docstring for the assumptions), with the
  messy cells of :func:`plant_messy_cells`, less the rows it makes wrong on purpose, which go
  to ``broken/candidate_rows_with_errors.xlsx`` (same layout) instead;
* ``candidates/edge_sites_gbk.csv``: 20 edge sites in a GBK-encoded CSV with Chinese headers;
* the sample table of ``README.md`` (between the ``samples:start``/``samples:end`` markers).

So everything outside ``broken/`` reads without an error, and ``.assessignore`` leaves
``broken/`` out of a walk of the folder. A workbook ``NN_*.xlsx`` left over from a project no
longer in the TOML (or now in the other folder) is deleted.

The output is deterministic: the same sources give the same cell contents (openpyxl stamps the
save time into ``docProps/core.xml`` and the zip entries, so the bytes still differ).

``--check`` reads the folder (``.assessignore`` leaves ``broken/`` out) and ``broken/`` with
:func:`assessment.read_applications` (as of 2025-06-30) and compares (1) every value read back,
in base units, with the source (the TOML values converted from their units; the generated
candidates and edge sites), and (2) the problems with what the sources say to expect: the
``expect`` list of each project, and the cells made wrong on purpose in the candidate list
(none outside ``broken/``). It also compares the two candidate sheets cell by cell, the
edge-site CSV text and the README table with what the sources generate. It exits with status
1 on any difference.

``--verify`` makes the same comparison without writing anything: the candidate list and the
edge sites are regenerated in memory only, so it checks that the committed files are the ones
the sources give. :func:`verify` returns its differences (empty when all agree) for the tests.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import sys
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import zip_longest
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # use the engine of this checkout

from assessment import load_dictionary, read_applications, write_template  # noqa: E402

SOURCE = HERE / "source" / "projects.toml"
CANDIDATES = HERE / "candidates"
CANDIDATE_XLSX = CANDIDATES / "candidate_list_2025.xlsx"
BROKEN = HERE / "broken"  # the inputs wrong on purpose; sample_projects/.assessignore lists it
ERROR_ROWS_XLSX = BROKEN / "candidate_rows_with_errors.xlsx"
EDGE_CSV = CANDIDATES / "edge_sites_gbk.csv"
CHECKS_SOURCE = HERE / "source" / "plausibility_checks.toml"
CHECKS_CSV = CANDIDATES / "plausibility_checks.csv"
CHECKS_START, CHECKS_END = "<!-- checks:start -->", "<!-- checks:end -->"
README = HERE / "README.md"
AS_OF = dt.date(2025, 6, 30)
META_KEYS = ("file", "lang", "note", "expect", "units", "yearly")
SEVERITIES = ("error", "warning", "missing")
README_START, README_END = "<!-- samples:start -->", "<!-- samples:end -->"


# ============================================================================================
# The official workbooks
# ============================================================================================
@dataclass
class Sample:
    """One ``[[project]]`` of the TOML source, ready for :func:`write_template`."""

    file: str
    lang: str
    note: str
    expect: list[str]
    values: dict[str, object]
    units: dict[str, str]
    yearly: dict[str, dict[int, float]] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """The workbook's path under ``sample_projects/``: in ``broken/`` when an error is
        expected."""
        broken = any(item.startswith("error:") for item in self.expect)
        return f"{BROKEN.name}/{self.file}" if broken else self.file


def load_samples(path: Path = SOURCE) -> list[Sample]:
    """Read and sanity-check the TOML source (field names, not values: some are wrong on
    purpose)."""
    with path.open("rb") as handle:
        tables = tomllib.load(handle)["project"]
    samples: list[Sample] = []
    for number, table in enumerate(tables, start=1):
        where = f"{path.name}, project {number} ({table.get('file', '?')})"
        sample = _sample(table, where)
        if any(_same_name(sample, other) for other in samples):
            raise SystemExit(f"{where}: file name or project_id used twice")
        samples.append(sample)
    return samples


def _sample(table: dict, where: str) -> Sample:
    """One ``[[project]]`` table as a :class:`Sample`; exits on a key that does not fit."""
    _check_meta(table, where)
    values = {k: v for k, v in table.items() if k not in META_KEYS}
    yearly = {
        series: {int(year): value for year, value in by_year.items()}
        for series, by_year in table.get("yearly", {}).items()
    }
    units = dict(table.get("units", {}))
    expect = list(table.get("expect", []))
    _check_fields(values, yearly, units, where)
    _check_expect(expect, where)
    return Sample(table["file"], table["lang"], table["note"], expect, values, units, yearly)


def _check_meta(table: dict, where: str) -> None:
    for key in ("file", "lang", "note"):
        if key not in table:
            raise SystemExit(f"{where}: missing {key!r}")
    if table["lang"] not in ("en", "zh"):
        raise SystemExit(f"{where}: lang must be 'en' or 'zh'")
    if not table["file"].endswith(".xlsx") or "/" in table["file"]:
        raise SystemExit(f"{where}: file must be a bare .xlsx name")


def _check_fields(values: dict, yearly: dict, units: dict[str, str], where: str) -> None:
    fields = load_dictionary().fields
    for names, series, what in ((values, False, "scalar field"), (yearly, True, "yearly series")):
        for name in names:
            if name not in fields or (fields[name].type == "series") != series:
                raise SystemExit(f"{where}: {name!r} is not a {what} of fields.csv")
    for name, unit in units.items():
        if not _unit_fits(name, unit):
            raise SystemExit(f"{where}: unit {unit!r} does not fit field {name!r}")


def _unit_fits(name: str, unit: str) -> bool:
    dictionary = load_dictionary()
    known, spelled = dictionary.fields.get(name), dictionary.unit(unit)
    return known is not None and spelled is not None and spelled.dimension == known.unit


def _check_expect(expect: list[str], where: str) -> None:
    for item in expect:
        parts = item.split(":")
        if parts[0] not in SEVERITIES or len(parts) not in (2, 3):
            raise SystemExit(f"{where}: expect item {item!r} is not severity:field[:check]")


def _same_name(sample: Sample, other: Sample) -> bool:
    """Do two samples share a file name or a project_id?"""
    return sample.file == other.file or (
        sample.values.get("project_id") == other.values.get("project_id")
    )


def write_samples(samples: list[Sample]) -> None:
    wanted = {HERE / sample.path for sample in samples}
    for folder in (HERE, BROKEN):
        for stale in sorted(folder.glob("[0-9][0-9]_*.xlsx")):
            if stale not in wanted:
                stale.unlink()
    BROKEN.mkdir(exist_ok=True)
    for sample in samples:
        write_template(
            HERE / sample.path,
            sample.lang,
            values=sample.values,
            yearly=sample.yearly,
            units=sample.units,
        )


# ============================================================================================
# The candidate list
# ============================================================================================
# (province, city, city in English, hub, cluster, weight). Cells show the Chinese names mostly.
SITES = [
    ("guizhou", "贵安新区", "Gui'an", "guizhou", "guian", 10),
    ("guizhou", "遵义", "Zunyi", "guizhou", "none", 2),
    ("inner_mongolia", "和林格尔", "Horinger", "inner_mongolia", "horinger", 8),
    ("inner_mongolia", "乌兰察布", "Ulanqab", "inner_mongolia", "none", 4),
    ("ningxia", "中卫", "Zhongwei", "ningxia", "zhongwei", 7),
    ("ningxia", "银川", "Yinchuan", "ningxia", "none", 3),
    ("gansu", "庆阳", "Qingyang", "gansu", "qingyang", 6),
    ("gansu", "兰州", "Lanzhou", "gansu", "none", 2),
    ("hebei", "张家口", "Zhangjiakou", "beijing_tianjin_hebei", "zhangjiakou", 7),
    ("hebei", "廊坊", "Langfang", "beijing_tianjin_hebei", "none", 4),
    ("beijing", "北京", "Beijing", "beijing_tianjin_hebei", "none", 3),
    ("tianjin", "天津", "Tianjin", "beijing_tianjin_hebei", "none", 3),
    ("shanghai", "上海青浦", "Qingpu", "yangtze_river_delta", "yrd_demo_zone", 4),
    ("jiangsu", "苏州吴江", "Wujiang", "yangtze_river_delta", "yrd_demo_zone", 3),
    ("zhejiang", "嘉善", "Jiashan", "yangtze_river_delta", "yrd_demo_zone", 2),
    ("anhui", "芜湖", "Wuhu", "yangtze_river_delta", "wuhu", 6),
    ("jiangsu", "南京", "Nanjing", "yangtze_river_delta", "none", 3),
    ("zhejiang", "杭州", "Hangzhou", "yangtze_river_delta", "none", 3),
    ("shanghai", "上海", "Shanghai", "yangtze_river_delta", "none", 3),
    ("guangdong", "韶关", "Shaoguan", "greater_bay_area", "shaoguan", 6),
    ("guangdong", "广州", "Guangzhou", "greater_bay_area", "none", 3),
    ("guangdong", "深圳", "Shenzhen", "greater_bay_area", "none", 2),
    ("sichuan", "成都", "Chengdu", "chengdu_chongqing", "tianfu", 6),
    ("sichuan", "雅安", "Ya'an", "chengdu_chongqing", "none", 2),
    ("chongqing", "重庆", "Chongqing", "chengdu_chongqing", "chongqing", 6),
    ("yunnan", "昆明", "Kunming", "none", "none", 3),
    ("hubei", "武汉", "Wuhan", "none", "none", 3),
    ("hunan", "长沙", "Changsha", "none", "none", 2),
    ("henan", "郑州", "Zhengzhou", "none", "none", 2),
    ("shandong", "青岛", "Qingdao", "none", "none", 3),
    ("fujian", "福州", "Fuzhou", "none", "none", 2),
    ("shaanxi", "西安", "Xi'an", "none", "none", 2),
    ("xinjiang", "克拉玛依", "Karamay", "none", "none", 2),
    ("qinghai", "西宁", "Xining", "none", "none", 2),
    ("shanxi", "大同", "Datong", "none", "none", 2),
    ("liaoning", "沈阳", "Shenyang", "none", "none", 1),
    ("jiangxi", "南昌", "Nanchang", "none", "none", 1),
    ("guangxi", "南宁", "Nanning", "none", "none", 1),
]
# Green-power share range by province: hydro and wind/solar regions high, coal-heavy east low.
GREEN = {
    "guizhou": (0.50, 0.75),
    "sichuan": (0.60, 0.85),
    "yunnan": (0.70, 0.90),
    "qinghai": (0.70, 0.90),
    "inner_mongolia": (0.40, 0.80),
    "ningxia": (0.40, 0.85),
    "gansu": (0.40, 0.80),
    "xinjiang": (0.30, 0.60),
    "chongqing": (0.25, 0.45),
    "hubei": (0.25, 0.45),
    "guangxi": (0.20, 0.40),
}
GREEN_ZHANGJIAKOU = (0.30, 0.60)
GREEN_DEFAULT = (0.05, 0.35)
COLD = {"inner_mongolia", "ningxia", "gansu", "xinjiang", "qinghai", "liaoning", "shanxi"}
MILD_HYDRO = {"guizhou", "yunnan", "sichuan"}
TYPES = [("general", 55), ("intelligent_computing", 25), ("edge", 16), ("supercomputing", 4)]
KINDS = {
    "general": [("new", 36), ("expansion", 14), ("retrofit", 12), ("operating", 38)],
    "intelligent_computing": [("new", 55), ("expansion", 15), ("operating", 30)],
    "supercomputing": [("new", 30), ("expansion", 40), ("operating", 30)],
    "edge": [("new", 50), ("operating", 50)],
}
RACKS = {
    "general": (2000, 40000),
    "intelligent_computing": (2000, 16000),
    "supercomputing": (1200, 6000),
    "edge": (10, 95),
}
COST_PER_MW = {
    "general": (8.0, 11.0),
    "intelligent_computing": (10.0, 12.0),
    "supercomputing": (10.0, 12.0),
    "edge": (11.0, 14.0),
}
NAME_ZH = {
    "general": ["云计算数据中心", "数据中心一期", "大数据产业园数据中心", "云数据中心二期"],
    "intelligent_computing": ["智算中心", "人工智能计算中心", "智算中心一期"],
    "supercomputing": ["超算中心", "超级计算中心"],
    "edge": ["边缘计算节点", "5G MEC边缘机房", "边缘数据中心"],
}
NAME_EN = {
    "general": "Cloud Data Centre",
    "intelligent_computing": "AI Computing Centre",
    "supercomputing": "Supercomputing Centre",
    "edge": "Edge Node",
}
SPONSOR_MID = ["云谷数据", "数智算力", "信创云", "算力产业", "大数据", "数字基础设施"]
SPONSOR_END = ["科技有限公司", "发展有限公司", "投资有限公司", "集团有限公司"]
YEARS = (2022, 2023, 2024)


@dataclass
class Candidate:
    """One candidate project in base units (CNY, MW, MWh, fractions); None = not applicable."""

    project_id: str
    name: str
    sponsor: str
    province: str
    city: str
    hub: str
    cluster: str
    facility_type: str
    project_kind: str
    financing_purpose: str
    racks: int
    it_load_kw: float
    utilisation: float | None
    compute_pflops: float | None
    pue: float | None
    pue_design: float
    wue: float
    it_energy_mwh: float
    green_share: float
    investment: float
    equity: float
    loan: float | None
    tenor: float | None
    operating_since: dt.date | None
    appraised: float | None
    revenue: dict[int, float] = field(default_factory=dict)
    ebitda: dict[int, float] = field(default_factory=dict)
    ocf: dict[int, float] = field(default_factory=dict)


PFLOPS_PER_KW = {"intelligent_computing": 0.04, "supercomputing": 0.025}
PURPOSE_OF_KIND = {"new": "construction", "expansion": "construction", "retrofit": "retrofit"}


def _pick(rng: random.Random, weighted: list) -> object:
    items = [item[:-1] if len(item) > 2 else item[0] for item in weighted]
    return rng.choices(items, weights=[item[-1] for item in weighted])[0]


def _date(rng: random.Random, first: int, last: int) -> dt.date:
    start = dt.date(first, 1, 1)
    return start + dt.timedelta(days=rng.randrange((dt.date(last, 12, 31) - start).days))


def candidate_projects(count: int = 210, seed: int = 2025) -> list[Candidate]:
    """A seeded, realistic pipeline of computing-infrastructure projects.

    Assumptions (all draws from ``random.Random(seed)``, in row order):

    * Site: one of ``SITES`` by weight; about 70 % lie in the 8 national hubs, most of those in
      one of the 10 clusters; the rest (hub and cluster "none") spread over other provinces.
    * Facility type: general 55 %, intelligent computing (AI) 25 %, edge 16 %, supercomputing
      4 %; edge sites serve cities, so one drawn for a site inside a cluster becomes a general
      data centre.
    * Project kind by type (``KINDS``): new builds, expansions, retrofits (general data centres
      only) and operating assets. Financing purpose: construction for new builds and
      expansions, retrofit for retrofits; an operating asset of at least 40 MW goes for a REIT
      with probability 0.45 (its start date redrawn in 2016-2021 when later, to have 3 full
      years), otherwise it is acquired (25 %) or refinanced (75 %).
    * Scale: standard racks log-uniform in ``RACKS`` (general data centres 2,000-40,000, so
      a median of ~9,000; edge 10-95); IT load = racks x 2.5 kW
      x U(0.95, 1.05); AI centres ~0.04 PFLOPS (FP32) per kW, supercomputers ~0.025.
    * Utilisation (existing facilities only) U(0.45, 0.95); IT energy = IT load x 8760 h x load
      factor, the load factor U(0.50, 0.70) for a new build's first full year, else
      utilisation x U(0.75, 0.90) capped to 0.50-0.85.
    * PUE: design PUE 1.12-1.22 in cold provinces, 1.15-1.28 in Guizhou/Yunnan/Sichuan, 1.20-1.30
      elsewhere (edge 1.30-1.45); measured PUE (existing facilities only) = design x
      U(1.00, 1.10); a retrofit measures 1.45-1.65 and is designed to 1.25-1.35.
      WUE 0.2-0.8 L/kWh in cold provinces, 0.8-1.8 elsewhere, 0-0.3 for air-cooled edge sites.
    * Green-power share from ``GREEN`` by province (Zhangjiakou 0.30-0.60, default 0.05-0.35).
    * Money: investment = IT load x CNY 8-12 m per MW (``COST_PER_MW``) plus 3-10 % for land
      (edge: a leased room, no land); a retrofit costs CNY 1.5-3 m per MW. Equity 20-40 %;
      loan 60-95 % of the rest with a 5-15 year tenor (edge 3-7); a REIT applies for no loan.
    * Operating since: retrofits 2010-2016, other existing assets 2015-2023; expansions report
      the operating phase. Yearly actuals 2022-2024 for years after the start: stabilised
      revenue ~20 % of investment a year (edge ~30 %), ramping 55 % -> 100 % over 3 years,
      pro rata in the first year, growing 0-4 % a year with +-3 % noise; EBITDA margin
      38-50 % (10 points less in the first year); operating cash flow 80-95 % of EBITDA.
    * Appraised value: REIT candidates 2024 EBITDA / U(6.5 %, 8 %); acquisitions 1.0-1.3 x the
      price; none for the others.
    * Green label (column 申请绿色认定, no draw): every third loan candidate by number asks for
      one; a REIT issue never does.
    * Forecasts (no draw): operating cash flow 2025-2027 of every loan candidate
      (``_forecast_ocf``) and the loan rate ``LOAN_RATE``; the engine prices the proposed loan's
      debt service from the amount, tenor and rate.
    """
    rng = random.Random(seed)
    return [_candidate(rng, number) for number in range(1, count + 1)]


# The helpers below draw from the generator's ``rng`` in a fixed order: changing the order of the
# draws changes every candidate after the first.
def _candidate(rng: random.Random, number: int) -> Candidate:
    province, city, city_en, hub, cluster = _pick(rng, SITES)
    facility = _facility_type(rng, cluster)
    kind = _pick(rng, KINDS[facility])
    figures = _facility_figures(rng, facility, kind, province, cluster)
    money = _money(rng, facility, kind, figures["it_load_kw"] / 1000)
    name = _candidate_name(rng, facility, kind, city, city_en)
    sponsor = f"{city}{rng.choice(SPONSOR_MID)}{rng.choice(SPONSOR_END)}"
    return Candidate(
        project_id=f"CL-{number:04d}",
        name=name,
        sponsor=sponsor,
        province=province,
        city=city,
        hub=hub,
        cluster=cluster,
        facility_type=facility,
        project_kind=kind,
        **figures,
        **money,
    )


def _facility_type(rng: random.Random, cluster: str) -> str:
    """Edge sites serve cities: one drawn inside a cluster becomes a general data centre."""
    facility = _pick(rng, TYPES)
    return "general" if facility == "edge" and cluster != "none" else facility


def _facility_figures(
    rng: random.Random, facility: str, kind: str, province: str, cluster: str
) -> dict[str, object]:
    """Scale, utilisation, energy, compute, efficiency and green power of a candidate."""
    racks, it_load_kw = _racks_and_load(rng, facility)
    utilisation, it_energy = _utilisation_and_energy(rng, kind, it_load_kw / 1000)
    compute = _compute(rng, facility, it_load_kw)
    pue, design, wue = _efficiency(rng, facility, kind, province, cluster)
    green = GREEN_ZHANGJIAKOU if cluster == "zhangjiakou" else GREEN.get(province, GREEN_DEFAULT)
    return {
        "racks": racks,
        "it_load_kw": it_load_kw,
        "utilisation": utilisation,
        "compute_pflops": compute,
        "pue": pue,
        "pue_design": design,
        "wue": wue,
        "it_energy_mwh": it_energy,
        "green_share": round(rng.uniform(*green), 2),
    }


def _racks_and_load(rng: random.Random, facility: str) -> tuple[int, float]:
    low, high = RACKS[facility]
    racks = round(low * (high / low) ** rng.random())
    if facility != "edge":
        racks = round(racks, -2)
    it_load_kw = round(racks * 2.5 * rng.uniform(0.95, 1.05), 0 if facility == "edge" else -1)
    return racks, it_load_kw


def _utilisation_and_energy(
    rng: random.Random, kind: str, load_mw: float
) -> tuple[float | None, float]:
    if kind == "new":
        utilisation, load_factor = None, rng.uniform(0.50, 0.70)
    else:
        utilisation = round(rng.uniform(0.45, 0.95), 3)
        load_factor = min(0.85, max(0.50, utilisation * rng.uniform(0.75, 0.90)))
    return utilisation, float(round(load_mw * 8760 * load_factor))


def _compute(rng: random.Random, facility: str, it_load_kw: float) -> float | None:
    pflops = PFLOPS_PER_KW.get(facility)
    return round(it_load_kw * pflops * rng.uniform(0.8, 1.2), -1) if pflops else None


def _efficiency(
    rng: random.Random, facility: str, kind: str, province: str, cluster: str
) -> tuple[float | None, float, float]:
    """(measured PUE, design PUE, WUE), rounded."""
    design = rng.uniform(*_design_pue_range(facility, province, cluster))
    measured = design * rng.uniform(1.00, 1.10) if kind != "new" else None
    if kind == "retrofit":
        measured, design = rng.uniform(1.45, 1.65), rng.uniform(1.25, 1.35)
    wue = rng.uniform(*_wue_range(facility, province))
    return None if measured is None else round(measured, 2), round(design, 2), round(wue, 2)


def _design_pue_range(facility: str, province: str, cluster: str) -> tuple[float, float]:
    if facility == "edge":
        return 1.30, 1.45
    if province in COLD or cluster == "zhangjiakou":
        return 1.12, 1.22
    if province in MILD_HYDRO:
        return 1.15, 1.28
    return 1.20, 1.30


def _wue_range(facility: str, province: str) -> tuple[float, float]:
    if facility == "edge":
        return 0.0, 0.3
    return (0.2, 0.8) if province in COLD else (0.8, 1.8)


def _money(rng: random.Random, facility: str, kind: str, load_mw: float) -> dict[str, object]:
    """Investment, financing, start of operation, yearly actuals and appraisal."""
    value_base, investment = _value_and_investment(rng, facility, kind, load_mw)
    purpose = _purpose(rng, kind, load_mw)
    started = _operating_since(rng, kind, purpose)
    equity, loan, tenor = _financing(rng, facility, purpose, investment)
    revenue, ebitda, ocf = _actuals(rng, facility, value_base, started)
    appraised = _appraised(rng, purpose, ebitda, investment)
    return {
        "financing_purpose": purpose,
        "investment": investment,
        "equity": equity,
        "loan": loan,
        "tenor": tenor,
        "operating_since": started,
        "appraised": appraised,
        "revenue": revenue,
        "ebitda": ebitda,
        "ocf": ocf,
    }


def _value_and_investment(
    rng: random.Random, facility: str, kind: str, load_mw: float
) -> tuple[float, float]:
    """(value of the facility, investment rounded to CNY 10,000): a retrofit costs less."""
    build_cost = load_mw * rng.uniform(*COST_PER_MW[facility]) * 1e6
    if facility == "edge":
        build_cost += rng.uniform(0.3, 1.0) * 1e6
    land = 0.0 if facility == "edge" else build_cost * rng.uniform(0.03, 0.10)
    value_base = build_cost + land
    investment = value_base if kind != "retrofit" else load_mw * rng.uniform(1.5, 3.0) * 1e6
    return value_base, round(investment, -4)


def _purpose(rng: random.Random, kind: str, load_mw: float) -> str:
    if kind != "operating":
        return PURPOSE_OF_KIND[kind]
    if load_mw >= 40 and rng.random() < 0.45:
        return "reit"
    return "acquisition" if rng.random() < 0.25 else "refinancing"


def _operating_since(rng: random.Random, kind: str, purpose: str) -> dt.date | None:
    if kind == "new":
        return None
    started = _date(rng, 2010, 2016) if kind == "retrofit" else _date(rng, 2015, 2023)
    if purpose == "reit" and started.year > 2021:
        started = _date(rng, 2016, 2021)  # three full years before a REIT
    return started


def _financing(
    rng: random.Random, facility: str, purpose: str, investment: float
) -> tuple[float, float | None, float | None]:
    """(equity, loan, tenor); a REIT applies for no loan."""
    equity = round(investment * rng.uniform(0.20, 0.40), -4)
    if purpose == "reit":
        return equity, None, None
    loan = round((investment - equity) * rng.uniform(0.60, 0.95), -4)
    tenor = float(rng.randint(3, 7) if facility == "edge" else rng.randint(5, 15))
    return equity, loan, tenor


def _actuals(
    rng: random.Random, facility: str, value_base: float, started: dt.date | None
) -> tuple[dict[int, float], dict[int, float], dict[int, float]]:
    """Revenue, EBITDA and operating cash flow for the ``YEARS`` after the start."""
    revenue, ebitda, ocf = {}, {}, {}
    if started is None:
        return revenue, ebitda, ocf
    stable = value_base * (0.30 if facility == "edge" else 0.20) * rng.uniform(0.85, 1.15)
    margin = rng.uniform(0.38, 0.50)
    growth = rng.uniform(0.0, 0.04)
    for year in (year for year in YEARS if year >= started.year):
        age = year - started.year
        ramp = min(1.0, 0.55 + 0.15 * age)
        share = (12 - started.month + 1) / 12 if age == 0 else 1.0
        trend = (1 + growth) ** (year - 2022) * rng.uniform(0.97, 1.03)
        revenue[year] = round(stable * ramp * share * trend, -4)
        ebitda[year] = round(revenue[year] * (margin - (0.10 if age == 0 else 0)), -4)
        ocf[year] = round(ebitda[year] * rng.uniform(0.80, 0.95), -4)
    return revenue, ebitda, ocf


def _appraised(
    rng: random.Random, purpose: str, ebitda: dict[int, float], investment: float
) -> float | None:
    if purpose == "reit":
        return round(ebitda[2024] / rng.uniform(0.065, 0.08), -6)
    if purpose == "acquisition":
        return round(investment * rng.uniform(1.0, 1.3), -6)
    return None


def _candidate_name(rng: random.Random, facility: str, kind: str, city: str, city_en: str) -> str:
    use_en = rng.random() < 0.15
    name = f"{city_en} {NAME_EN[facility]}" if use_en else f"{city}{rng.choice(NAME_ZH[facility])}"
    if kind == "retrofit":  # after the draw above, which fixes the later draws
        name = f"{city_en} Data Centre Energy Retrofit" if use_en else f"{city}数据中心节能改造"
    return name


# One column of the candidate list: header, field key (``series@year`` for yearly columns), the
# cell as written in the header's unit, and the value in base units the reader must return.
@dataclass(frozen=True)
class Column:
    header: str
    key: str
    cell: object
    truth: object


def _scaled(get, factor: float, digits: int | None, candidate: Candidate) -> object:
    """``get(candidate)`` divided by ``factor`` (the column's unit), rounded to ``digits``."""
    value = get(candidate)
    if value is None:
        return None
    value /= factor
    return round(value, digits) if digits is not None else value


_YES_NO = {True: "是", False: "否"}


def _green_label(candidate: Candidate) -> bool:
    """Every third loan candidate (by number) asks for a green label; a REIT issue never does.
    Drawn from no random stream, so the other columns stay as they were."""
    loan = candidate.financing_purpose != "reit"
    return loan and int(candidate.project_id[-4:]) % 3 == 0


FORECAST_YEARS = (2025, 2026, 2027)
LOAN_RATE = 0.042  # a 5-year LPR of 3.6 % (2025) plus a 0.6-point spread: an assumption


def _forecast_ocf(year: int, candidate: Candidate) -> float | None:
    """A loan candidate's forecast operating cash flow (no draw): an operating asset's last
    actual grown 3 % a year; a new build or expansion stabilises at investment x 20 % revenue x
    44 % margin x 87.5 % cash conversion, none in 2025 (construction), 55 % of it in 2026 and
    70 % in 2027; a REIT candidate's forecast is its distributable cash (not in the list)."""
    if candidate.financing_purpose == "reit":
        return None
    if candidate.ocf:
        last = max(candidate.ocf)
        return round(candidate.ocf[last] * 1.03 ** (year - last), -4)
    ramp = {2026: 0.55, 2027: 0.70}.get(year)
    return None if ramp is None else round(candidate.investment * 0.077 * ramp, -4)


def _loan_rate(candidate: Candidate) -> float | None:
    return None if candidate.loan is None else LOAN_RATE


def _attribute(name: str, candidate: Candidate) -> object:
    return getattr(candidate, name)


def _year_value(series: str, year: int, candidate: Candidate) -> float | None:
    return getattr(candidate, series).get(year)


def _col(header: str, key: str, get=None, factor: float = 1.0, digits: int | None = None) -> Column:
    """A column; ``get`` is a candidate's attribute name or a function (default: ``key``)."""
    if not callable(get):
        get = partial(_attribute, get or key)
    scaled = factor != 1.0 or digits is not None
    return Column(header, key, partial(_scaled, get, factor, digits) if scaled else get, get)


def _yearly_cols(series: str, attribute: str, years, unit: str = "", *scale) -> list[Column]:
    """Columns ``<series>_<year><unit>`` of a yearly series, ``scale`` as for :func:`_col`."""
    return [
        _col(
            f"{series}_{year}{unit}",
            f"{series}@{year}",
            partial(_year_value, attribute, year),
            *scale,
        )
        for year in years
    ]


CANDIDATE_COLUMNS = [
    _col("项目编号", "project_id"),
    _col("Project name", "project_name", "name"),
    _col("发起人", "sponsor"),
    _col("省份", "province"),
    _col("City", "city"),
    _col("Hub", "hub"),
    _col("集群", "cluster"),
    _col("设施类型", "facility_type"),
    _col("Project kind", "project_kind"),
    _col("融资用途", "financing_purpose"),
    Column("申请绿色认定", "green_label_requested", lambda c: _YES_NO[_green_label(c)], _green_label),
    _col("Racks", "racks"),
    _col("IT load (kW)", "it_load_mw", lambda c: c.it_load_kw / 1000, 1e-3, 0),
    _col("上架率(%)", "rack_utilisation", "utilisation", 1e-2, 1),
    _col("算力(PFLOPS)", "compute_pflops"),
    _col("PUE", "pue"),
    _col("设计PUE", "pue_design"),
    _col("WUE (L/kWh)", "wue_l_per_kwh", "wue"),
    _col("IT年用电量（万千瓦时）", "it_energy_mwh", "it_energy_mwh", 10, 1),
    _col("Green power share", "green_power_share", "green_share"),
    _col("Total investment (亿元)", "total_investment_cny", "investment", 1e8, 4),
    _col("资本金(万元)", "equity_cny", "equity", 1e4, 0),
    _col("Loan amount (CNY million)", "loan_amount_cny", "loan", 1e6, 2),
    _col("贷款期限(年)", "loan_tenor_years", "tenor"),
    _col("投运日期", "operating_since"),
    _col("Appraised value (亿元)", "appraised_value_cny", "appraised", 1e8, 2),
    *_yearly_cols("revenue_cny", "revenue", YEARS),
    *_yearly_cols("ebitda_cny", "ebitda", YEARS[1:], " (万元)", 1e4, 1),
    *_yearly_cols("operating_cash_flow_cny", "ocf", YEARS),
    *[
        _col(f"operating_cash_flow_cny_{year}", f"operating_cash_flow_cny@{year}", get)
        for year, get in ((y, partial(_forecast_ocf, y)) for y in FORECAST_YEARS)
    ],
    _col("贷款利率(%)", "loan_interest_rate", _loan_rate, 1e-2, 2),
]


# How choice codes are shown: mostly the Chinese label, sometimes an English label or alias.
SHOWN = {
    "hub": {
        "yangtze_river_delta": ["长三角", "长三角", "YRD"],
        "greater_bay_area": ["粤港澳大湾区", "大湾区", "Greater Bay Area"],
        "beijing_tianjin_hebei": ["京津冀", "京津冀", "Beijing-Tianjin-Hebei"],
        "chengdu_chongqing": ["成渝", "成渝枢纽", "Chengdu-Chongqing"],
        "inner_mongolia": ["内蒙古", "内蒙古枢纽", "Inner Mongolia"],
        "guizhou": ["贵州", "贵州枢纽", "Guizhou hub"],
        "gansu": ["甘肃", "甘肃枢纽", "Gansu"],
        "ningxia": ["宁夏", "宁夏枢纽", "Ningxia"],
        "none": ["无", "非枢纽", "无"],
    },
    "facility_type": {
        "general": ["通用数据中心", "数据中心", "IDC"],
        "intelligent_computing": ["智算中心", "智算中心", "AI centre"],
        "supercomputing": ["超算中心", "超算中心", "HPC"],
        "edge": ["边缘数据中心", "边缘节点", "Edge"],
    },
}


@dataclass
class Planted:
    """A cell written the messy way (``severity`` empty: it must still read correctly, give or
    take rounding) or wrong on purpose (the problem the reader must report for it)."""

    project_id: str
    key: str
    severity: str = ""
    row: int = 0  # the Excel row, set once the sheet is laid out

    @property
    def field(self) -> str:
        return self.key.split("@")[0]


def _label(set_name: str, code: str, rng: random.Random) -> str:
    dictionary = load_dictionary()
    shown = SHOWN.get(set_name, {}).get(code)
    if shown:
        return rng.choice(shown)
    zh = dictionary.choice_attribute(set_name, code, "label_zh")
    en = dictionary.choice_attribute(set_name, code, "label_en")
    return en if rng.random() < 0.12 else zh


def _full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


# The choice columns of the candidate list, shown as labels: (choice set, column header).
LABELLED = (
    ("province", "省份"),
    ("hub", "Hub"),
    ("cluster", "集群"),
    ("facility_type", "设施类型"),
    ("project_kind", "Project kind"),
    ("financing_purpose", "融资用途"),
)


def candidate_cells(
    candidates: list[Candidate], seed: int = 2025
) -> tuple[list[str], list[list[object]]]:
    """The header and the cells of each candidate, before the planted messiness."""
    rng = random.Random(seed + 1)
    header = [column.header for column in CANDIDATE_COLUMNS]
    rows = []
    for candidate in candidates:
        cells = [column.cell(candidate) for column in CANDIDATE_COLUMNS]
        for set_name, column in LABELLED:
            index = header.index(column)
            cells[index] = _label(set_name, cells[index], rng)
        rows.append(cells)
    return header, rows


class PlantRule(NamedTuple):
    """Type ``typed(c)`` into column ``header`` of the first candidate ``c`` from index ``after``
    on that ``fits`` and has no planted cell yet; ``severity`` is the problem the reader must
    report for it ("": none, the cell must read correctly)."""

    after: int
    fits: Callable[[Candidate], bool]
    header: str
    typed: Callable[[Candidate], object]
    severity: str = ""


def _date_in_chinese(c: Candidate) -> str:
    return f"{c.operating_since.year}年{c.operating_since.month}月"


PLANT_RULES = [
    PlantRule(
        5,
        lambda c: 1000 <= c.racks < 10000 and c.facility_type != "edge",
        "Racks",
        lambda c: f"{c.racks:,}",
    ),
    PlantRule(12, lambda c: c.operating_since is not None, "投运日期", _date_in_chinese),
    PlantRule(
        20,
        lambda c: c.utilisation is not None,
        "上架率(%)",
        lambda c: f"{round(c.utilisation * 100)}%",
    ),
    PlantRule(30, lambda c: True, "Green power share", lambda c: f"{round(c.green_share * 100)}%"),
    PlantRule(
        40,
        lambda c: c.investment >= 1e8,
        "Total investment (亿元)",
        lambda c: f"{round(c.investment / 1e8, 2)}亿",
    ),
    PlantRule(50, lambda c: c.pue is not None, "PUE", lambda c: _full_width(f"{c.pue:.2f}")),
    PlantRule(
        60, lambda c: c.facility_type != "edge", "Racks", lambda c: _full_width(str(c.racks))
    ),
    *[
        PlantRule(
            after,
            lambda c: c.appraised is None and c.project_kind == "new",
            "Appraised value (亿元)",
            lambda c: "—",
        )
        for after in (70, 150)
    ],
    PlantRule(80, lambda c: c.pue is None, "PUE", lambda c: "N/A"),
    # the errors: PUE 4.2 meant 1.42, utilisation 128 % meant 82.8 %
    PlantRule(90, lambda c: c.project_kind == "retrofit", "PUE", lambda c: 4.2, "error"),
    PlantRule(
        130, lambda c: c.facility_type == "general", "IT load (kW)", lambda c: "unknown", "error"
    ),
    PlantRule(170, lambda c: c.utilisation is not None, "上架率(%)", lambda c: 128.0, "error"),
]
BLANK_AFTER = 105  # the blank row in the middle of the list comes after this many candidates


def plant_messy_cells(
    rows: list[list[object]], candidates: list[Candidate]
) -> tuple[list[list[object] | None], list[Planted]]:
    """Make a few cells messy the way people type them, and 3 rows wrong.

    Readable mess (must parse): racks as "1,200" (thousands separator in text), a start date
    "2020年6月" (month only), utilisation "85%" (percent sign in a % column), green share "35%"
    (percent in a fraction column), investment "12.5亿" (unit inside the cell), full-width
    digits in a PUE and a racks cell, "—" and "N/A" for values that do not apply, and a blank
    row in the middle.
    Genuine errors (must be reported): a PUE of 4.2, "unknown" in the IT load column, and a
    utilisation of 128 %.
    Rules (``PLANT_RULES``) choose the rows (the first candidate after a position that fits), so
    the choice follows the seeded data. Returns the rows (None = the blank row) and the planted
    cells.
    """
    columns = {column.header: (index, column.key) for index, column in enumerate(CANDIDATE_COLUMNS)}
    used: set[int] = set()
    planted: list[Planted] = []
    for rule in PLANT_RULES:
        index = _first_fit(rule, candidates, used)
        used.add(index)
        column, key = columns[rule.header]
        rows[index][column] = rule.typed(candidates[index])
        planted.append(Planted(candidates[index].project_id, key, rule.severity))
    return [*rows[:BLANK_AFTER], None, *rows[BLANK_AFTER:]], planted


def _first_fit(rule: PlantRule, candidates: list[Candidate], used: set[int]) -> int:
    for index in range(rule.after, len(candidates)):
        if index not in used and rule.fits(candidates[index]):
            return index
    raise SystemExit(f"no candidate fits the planted {rule.header} cell; change the rule")


TITLE_ROWS = [
    "2025年度算力基础设施项目融资候选清单 / Candidate list of computing-infrastructure "
    "projects, 2025",
    "编制：投融资部；数据截至2025-05-31；金额单位见各列标题 (amount units are given in the "
    "column headers; yearly columns are <series>_<year>)",
]

ERROR_TITLE_ROWS = [
    "2025年度算力基础设施项目融资候选清单：有错误的行 / Candidate list of computing-"
    "infrastructure projects, 2025: the rows with errors",
    "故意出错的行，用于演示拒绝原因 (typed wrong on purpose, to show the rejected list; "
    "same columns as candidates/candidate_list_2025.xlsx)",
]

HEADER_ROW = len(TITLE_ROWS) + 2  # the title rows, a blank row, then the header


@dataclass
class CandidateList:
    """A candidate list as generated in memory: what the workbook holds and why."""

    path: Path
    titles: list[str]  # as many as TITLE_ROWS, so the header is on HEADER_ROW
    candidates: list[Candidate]
    header: list[str]
    rows: list[list[object] | None]  # one per candidate, None for the blank row
    planted: list[Planted]

    def sheet_rows(self) -> list[list[object]]:
        """Every row of the sheet from row 1, a blank row as []."""
        titles = [[title] for title in self.titles]
        return [*titles, [], self.header, *(row or [] for row in self.rows)]


def candidate_lists() -> tuple[CandidateList, CandidateList]:
    """Generate the candidate list, and split off the rows planted wrong (for ``broken/``)."""
    candidates = candidate_projects()
    header, rows = candidate_cells(candidates)
    rows, planted = plant_messy_cells(rows, candidates)
    wrong = {item.project_id for item in planted if item.severity}
    listed = [row for row in rows if row is None or row[0] not in wrong]  # the blank row stays
    errors = [row for row in rows if row is not None and row[0] in wrong]
    return (
        _listing(CANDIDATE_XLSX, TITLE_ROWS, header, listed, candidates, planted),
        _listing(ERROR_ROWS_XLSX, ERROR_TITLE_ROWS, header, errors, candidates, planted),
    )


def _listing(
    path: Path,
    titles: list[str],
    header: list[str],
    rows: list[list[object] | None],
    candidates: list[Candidate],
    planted: list[Planted],
) -> CandidateList:
    """The list of ``rows`` with their candidates and planted cells, these at their Excel
    rows."""
    rows_of = {row[0]: number for number, row in enumerate(rows, start=HEADER_ROW + 1) if row}
    planted = [replace(p, row=rows_of[p.project_id]) for p in planted if p.project_id in rows_of]
    listed = [candidate for candidate in candidates if candidate.project_id in rows_of]
    return CandidateList(path, titles, listed, header, rows, planted)


def write_candidate_list(listing: CandidateList) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "候选项目"
    for row in listing.sheet_rows():
        sheet.append(row)  # an empty row still moves on one row
        for cell in sheet[sheet.max_row] if row else ():
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    _style_candidate_sheet(sheet, listing.header)
    book.properties.creator = "sample_projects/build.py"
    book.properties.created = dt.datetime(2025, 6, 1)
    listing.path.parent.mkdir(parents=True, exist_ok=True)
    book.save(listing.path)


def _style_candidate_sheet(sheet, header: list[str]) -> None:
    sheet["A1"].font = Font(bold=True, size=14)
    for cell in sheet[HEADER_ROW]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 3)
    for index, title in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(28, len(title) + 4))


# ============================================================================================
# The edge-site CSV (GBK)
# ============================================================================================
# (header, field, factor): a cell holds the base-unit value divided by factor.
EDGE_COLUMNS = [
    ("项目编号", "project_id", 1),
    ("项目名称", "project_name", 1),
    ("建设单位", "sponsor", 1),
    ("省份", "province", 1),
    ("城市", "city", 1),
    ("枢纽节点", "hub", 1),
    ("集群", "cluster", 1),
    ("设施类型", "facility_type", 1),
    ("项目性质", "project_kind", 1),
    ("融资用途", "financing_purpose", 1),
    ("申请绿色认定", "green_label_requested", 1),
    ("机架数", "racks", 1),
    ("IT负载(kW)", "it_load_mw", 1e-3),
    ("上架率(%)", "rack_utilisation", 1e-2),
    ("年均PUE", "pue", 1),
    ("设计PUE", "pue_design", 1),
    ("绿电占比(%)", "green_power_share", 1e-2),
    ("IT年用电量(万千瓦时)", "it_energy_mwh", 10),
    ("总投资(万元)", "total_investment_cny", 1e4),
    ("资本金(万元)", "equity_cny", 1e4),
    ("申请贷款金额(万元)", "loan_amount_cny", 1e4),
    ("贷款期限(年)", "loan_tenor_years", 1),
    ("投运日期", "operating_since", 1),
]
EDGE_CITIES = [
    ("guangdong", "广东", "深圳", "greater_bay_area", "粤港澳大湾区"),
    ("guangdong", "广东", "东莞", "greater_bay_area", "大湾区"),
    ("shanghai", "上海", "上海", "yangtze_river_delta", "长三角"),
    ("jiangsu", "江苏", "苏州", "yangtze_river_delta", "长三角"),
    ("zhejiang", "浙江", "宁波", "yangtze_river_delta", "长三角"),
    ("beijing", "北京", "北京", "beijing_tianjin_hebei", "京津冀"),
    ("tianjin", "天津", "天津", "beijing_tianjin_hebei", "京津冀"),
    ("sichuan", "四川", "成都", "chengdu_chongqing", "成渝"),
    ("hubei", "湖北", "武汉", "none", "无"),
    ("hunan", "湖南", "长沙", "none", "无"),
    ("shandong", "山东", "济南", "none", "非枢纽"),
    ("henan", "河南", "郑州", "none", "无"),
    ("fujian", "福建", "厦门", "none", "无"),
    ("shaanxi", "陕西", "西安", "none", "无"),
]
EDGE_NAMES = [
    "5G MEC边缘机房",
    "边缘计算节点",
    "工业互联网边缘节点",
    "车路协同边缘计算站",
    "智慧园区边缘数据中心",
]

EDGE_CODE_LABELS = {
    "operating": "已运营",
    "new": "新建",
    "refinancing": "再融资",
    "construction": "建设",
}


def edge_sites(count: int = 20, seed: int = 2026) -> list[dict[str, object]]:
    """Edge sites in base units (CNY, MW, MWh, fractions) with choice codes.

    Assumptions (``random.Random(seed)``): 8-90 standard racks in a city outside the clusters;
    IT load = racks x 2.5 kW x U(0.95, 1.05); half operating since 2021-2024 (refinancing, with
    utilisation 50-92 % and a measured PUE 0-8 % above design), half new builds (construction);
    design PUE 1.30-1.45; IT energy at a 0.50-0.75 load factor; green power 5-30 %; investment
    CNY 12-15 m per MW plus a CNY 0.3-1.0 m fit-out; equity 25-40 %; loan 60-95 % of the rest
    over 3-6 years; every fourth site asks for a green label (no draw).
    """
    rng = random.Random(seed)
    return [_edge_site(rng, number) for number in range(1, count + 1)]


def _edge_site(rng: random.Random, number: int) -> dict[str, object]:
    """Edge site ``number``; the dict's values are drawn from ``rng`` in their order."""
    province, _, city, hub, _ = rng.choice(EDGE_CITIES)
    racks = rng.randint(8, 90)
    load_mw = round(racks * 2.5 * rng.uniform(0.95, 1.05)) / 1000
    operating = rng.random() < 0.5
    design = round(rng.uniform(1.30, 1.45), 2)
    investment = round(load_mw * rng.uniform(12, 15) * 1e6 + rng.uniform(0.3, 1.0) * 1e6, -4)
    equity = round(investment * rng.uniform(0.25, 0.40), -4)
    return {
        "project_id": f"ES-{number:03d}",
        "project_name": f"{city}{rng.choice(EDGE_NAMES)}",
        "sponsor": f"{city}{rng.choice(['边缘', '智联', '数联'])}网络科技有限公司",
        "province": province,
        "city": city,
        "hub": hub,
        "cluster": "none",
        "facility_type": "edge",
        "project_kind": "operating" if operating else "new",
        "financing_purpose": "refinancing" if operating else "construction",
        "racks": racks,
        "it_load_mw": load_mw,
        "rack_utilisation": round(rng.uniform(0.50, 0.92), 3) if operating else None,
        "pue": round(design * rng.uniform(1.0, 1.08), 2) if operating else None,
        "pue_design": design,
        "green_power_share": round(rng.uniform(0.05, 0.30), 2),
        "it_energy_mwh": round(load_mw * 8760 * rng.uniform(0.5, 0.75), 1),
        "total_investment_cny": investment,
        "equity_cny": equity,
        "loan_amount_cny": round((investment - equity) * rng.uniform(0.6, 0.95), -4),
        "loan_tenor_years": float(rng.randint(3, 6)),
        "operating_since": _date(rng, 2021, 2024) if operating else None,
        "green_label_requested": number % 4 == 0,  # no draw: the other values stay as they were
    }


def _edge_cell(
    site: dict[str, object], field_name: str, factor: float, rng: random.Random
) -> object:
    """A site's value as a Chinese-locale export shows it: labels, 万元, %, ISO dates."""
    value = site[field_name]
    if value is None:
        return ""
    if field_name in ("province", "hub", "cluster", "facility_type"):
        return _edge_label(site, field_name, rng)
    if field_name in ("project_kind", "financing_purpose"):
        return EDGE_CODE_LABELS[value]
    if isinstance(value, bool):
        return _YES_NO[value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        value = round(value / factor, 4)
        return int(value) if value.is_integer() else value  # as Excel exports 120.0: "120"
    return value


def _edge_label(site: dict[str, object], field_name: str, rng: random.Random) -> str:
    if field_name == "province":
        return next(row[1] for row in EDGE_CITIES if row[0] == site["province"])
    if field_name == "hub":
        return next(row[4] for row in EDGE_CITIES if row[2] == site["city"])
    if field_name == "cluster":
        return rng.choice(["无", "非集群"])
    return rng.choice(["边缘数据中心", "边缘节点", "边缘计算中心"])


def edge_csv_text(sites: list[dict[str, object]]) -> str:
    """The edge-site CSV as text (its labels drawn from ``random.Random(2027)``)."""
    rng = random.Random(2027)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([header for header, _, _ in EDGE_COLUMNS])
    for site in sites:
        writer.writerow([_edge_cell(site, name, factor, rng) for _, name, factor in EDGE_COLUMNS])
    return buffer.getvalue()


def write_edge_csv(text: str, path: Path = EDGE_CSV) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("gbk"))  # a Chinese-locale Excel export


# ============================================================================================
# README table
# ============================================================================================
def _expect_text(items: list[str]) -> str:
    shown, missing = [], []
    for item in items:
        severity, name, *check = item.split(":")
        if severity == "missing":
            missing.append(f"`{name}`")
        else:
            shown.append(f"**{severity}** `{name}`" + (f" ({check[0]})" if check else ""))
    if missing:
        shown.append("not applicable yet: " + ", ".join(missing))
    return "; ".join(shown) or "none"


def readme_table(samples: list[Sample]) -> str:
    """The samples table of the README, with its start and end markers."""
    lines = [
        README_START,
        "",
        "| File | Project | Lang | What it shows | Problems the reader reports |",
        "| --- | --- | --- | --- | --- |",
    ]
    for sample in samples:
        name = sample.values.get("project_name", "*(blank)*")
        lines.append(
            f"| `{sample.path}` | {sample.values.get('project_id', '')} {name} | "
            f"{sample.lang} | {sample.note} | {_expect_text(sample.expect)} |"
        )
    return "\n".join([*lines, "", README_END])


def _with_table(text: str, table: str, first: str = README_START, last: str = README_END) -> str:
    """``text`` with the part between the markers ``first`` and ``last`` replaced by
    ``table``."""
    start, end = text.index(first), text.index(last) + len(last)
    return text[:start] + table + text[end:]


# ============================================================================================
# The plausibility-check list
# ============================================================================================
@dataclass
class CheckRow:
    """One ``[[row]]`` of ``source/plausibility_checks.toml``: the flags it raises on purpose,
    what it shows, and its values (``[base]`` with the row's changes; a yearly value as
    ``<series>_<year>``, a blank as "")."""

    project_id: str
    raises: list[str]
    note: str
    values: dict[str, object]


def check_rows(path: Path = CHECKS_SOURCE) -> list[CheckRow]:
    source = tomllib.loads(path.read_text(encoding="utf-8"))
    rows = []
    for table in source["row"]:
        changes = {k: v for k, v in table.items() if k not in ("project_id", "raises", "note")}
        values = {"project_id": table["project_id"], **source["base"], **changes}
        rows.append(CheckRow(table["project_id"], list(table["raises"]), table["note"], values))
    return rows


def checks_csv_text(rows: list[CheckRow]) -> str:
    """The list as UTF-8 CSV text: canonical field names as headers, booleans true/false."""
    names = list(dict.fromkeys(name for row in rows for name in row.values))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_csv_cell(row.values.get(name, "")) for name in names])
    return buffer.getvalue()


def _csv_cell(value: object) -> object:
    return str(value).lower() if isinstance(value, bool) else value


def checks_table(rows: list[CheckRow]) -> str:
    """The README's table of the list, with its start and end markers."""
    lines = [CHECKS_START, "", "| Row | Raises | What it shows |", "| --- | --- | --- |"]
    for row in rows:
        raises = ", ".join(f"`{rule}`" for rule in row.raises) or "none"
        lines.append(f"| {row.project_id} | {raises} | {row.note} |")
    return "\n".join([*lines, "", CHECKS_END])


def _check_truth(row: CheckRow) -> dict[str, object]:
    """The values the reader must give back: blanks as None, ``<series>_<year>`` as
    ``series@year``."""
    series = {f.name for f in load_dictionary().fields.values() if f.section == "yearly"}
    truth = {}
    for key, value in row.values.items():
        name, _, year = key.rpartition("_")
        key = f"{name}@{year}" if name in series and year.isdigit() else key
        truth[key] = None if value == "" else value
    return {key: value for key, value in truth.items() if key != "project_id"}


# ============================================================================================
# --check and --verify
# ============================================================================================
@dataclass
class Sources:
    """Everything the folder is generated from, computed in memory (nothing written)."""

    samples: list[Sample]
    lists: tuple[CandidateList, CandidateList]  # the candidate list, its rows with errors
    sites: list[dict[str, object]]
    edge_text: str
    checks: list[CheckRow]
    checks_text: str


def sources() -> Sources:
    """Load the TOML and regenerate the lists in memory."""
    samples = load_samples()
    sites = edge_sites()
    checks = check_rows()
    lists = candidate_lists()
    return Sources(samples, lists, sites, edge_csv_text(sites), checks, checks_csv_text(checks))


@dataclass
class ReadBack:
    """The folder as :func:`read_applications` returns it, indexed for the comparison."""

    projects: pd.DataFrame
    yearly: pd.DataFrame
    problems: pd.DataFrame
    yearly_values: dict[tuple[str, str, int], float]
    by_file: dict[str, list[dict]]  # the problem rows of each file, by its _relative path


def read_back() -> ReadBack:
    """The folder as a walk reads it (``.assessignore`` leaves ``broken/`` out), and
    ``broken/`` named."""
    projects, yearly, problems = read_applications([HERE, BROKEN], as_of=AS_OF)
    yearly_values = {(r.project_id, r.series, r.year): r.value for r in yearly.itertuples()}
    by_file: dict[str, list[dict]] = {}
    for row in problems.to_dict("records"):
        by_file.setdefault(_relative(row["file"]), []).append(row)
    return ReadBack(projects, yearly, problems, yearly_values, by_file)


def _relative(path: str | Path) -> str:
    """A file's path under ``sample_projects/`` (as given when it is not under it)."""
    try:
        return Path(path).resolve().relative_to(HERE).as_posix()
    except ValueError:
        return str(path)


@dataclass
class Section:
    """One part of the comparison: its report line (if any) and the differences found."""

    name: str
    summary: str | None
    differences: list[str]
    summary_last: bool = False

    def lines(self) -> list[str]:
        """The lines of the report: without a summary line, each difference names the part."""
        if self.summary is None:
            return [f"{self.name}: {line}" for line in self.differences]
        if self.summary_last:
            return [*self.differences, self.summary]
        return [self.summary, *self.differences]


@dataclass
class Comparison:
    """The folder read back and the parts of the comparison; each part with differences is
    one failed check."""

    read: ReadBack
    sections: list[Section]

    @property
    def failures(self) -> int:
        return sum(bool(section.differences) for section in self.sections)

    def differences(self) -> list[str]:
        return [f"{s.name}: {line}" for s in self.sections for line in s.differences]


def compare(src: Sources) -> Comparison:
    """Read the folder back and compare it with the sources; writes nothing."""
    read = read_back()
    lists = [_relative(listing.path) for listing in src.lists]
    known = {sample.path for sample in src.samples} | {*lists, _relative(EDGE_CSV)}
    known.add(_relative(CHECKS_CSV))
    sections = [
        *(_sample_section(read, sample) for sample in src.samples),
        _values_section(read, src.lists, src.sites),
        *(_list_section(read, listing) for listing in src.lists),
        _list_section(read, None),
        *_unknown_file_sections(read, known),
        *(_candidate_cells_section(listing) for listing in src.lists),
        _edge_text_section(src.edge_text),
        _checks_section(read, src.checks, src.checks_text),
        _readme_section(src),
    ]
    return Comparison(read, sections)


def verify() -> list[str]:
    """The differences between the files as they are and their sources (empty: all agree)."""
    return compare(sources()).differences()


# --- values and problems read back ----------------------------------------------------------
def _sample_section(read: ReadBack, sample: Sample) -> Section:
    found = read.by_file.get(sample.path, [])
    errors = sum(row["severity"] == "error" for row in found)
    differences = [
        *_value_differences(read, sample.values.get("project_id"), _sample_truth(sample)),
        *_problem_differences(found, sample.expect),
    ]
    summary = f"{sample.path}: {len(found)} problems ({errors} errors)"
    return Section(sample.path, summary, differences)


def _values_section(
    read: ReadBack, lists: tuple[CandidateList, ...], sites: list[dict[str, object]]
) -> Section:
    differences = []
    for listing in lists:
        for candidate in listing.candidates:
            truth, tolerance = _candidate_truth(candidate, listing.planted)
            differences += _value_differences(read, candidate.project_id, truth, tolerance)
    for site in sites:
        truth = {key: value for key, value in site.items() if key != "project_id"}
        differences += _value_differences(read, site["project_id"], truth, default=1e-6)
    summary = f"candidate and edge-site values read back: {len(differences)} differences"
    return Section("candidate and edge-site values", summary, differences, summary_last=True)


def _list_section(read: ReadBack, listing: CandidateList | None) -> Section:
    """The problems of a candidate list (None: the edge sites, with none) against its planted
    errors: (Excel row, field, severity)."""
    name = _relative(listing.path if listing else EDGE_CSV)
    found = read.by_file.get(name, [])
    planted = listing.planted if listing else []
    want = {(item.row, item.field, item.severity) for item in planted if item.severity}
    got = {
        (_row_number(row["cell"]), row["field"], _kind(row)[0])
        for row in found
        if _kind(row)[0] != "missing"
    }
    differences = [
        *(f"unexpected problem: {key}" for key in sorted(got - want, key=str)),
        *(f"missing expected problem: {key}" for key in sorted(want - got, key=str)),
    ]
    return Section(name, _list_summary(read, name, found), differences)


def _list_summary(read: ReadBack, name: str, found: list[dict]) -> str:
    count = (read.projects["source_file"].map(_relative) == name).sum()
    missing = Counter(row["field"] for row in found if _kind(row)[0] == "missing")
    errors = sum(row["severity"] == "error" for row in found)
    return (
        f"{name}: {count} projects, {len(found)} problems ({errors} errors); "
        f"programme fields missing (rows): {dict(sorted(missing.items()))}"
    )


def _unknown_file_sections(read: ReadBack, known: set[str]) -> list[Section]:
    """A file read (with projects or problems) that no source generates."""
    names = dict.fromkeys([*read.by_file, *read.projects["source_file"].map(_relative)])
    return [
        Section(name, None, [f"not a known sample, {len(read.by_file.get(name, []))} problems"])
        for name in names
        if name not in known
    ]


def _value_differences(
    read: ReadBack,
    project_id: str,
    truth: dict[str, object],
    tolerance: dict[str, float] | None = None,
    default: float = 1e-9,
) -> list[str]:
    """The values read for a project that differ from ``truth`` (relative ``tolerance``)."""
    if project_id not in read.projects.index:
        return [f"value: {project_id} is not in projects"]
    tolerance = tolerance or {}
    differences = []
    for key, want in truth.items():
        got = _value_of(read, project_id, key)
        if not _same(got, want, tolerance.get(key, default)):
            differences.append(f"value {project_id} {key}: read {got!r}, source {want!r}")
    return differences


def _problem_differences(found: list[dict], expect: list[str]) -> list[str]:
    """Problems found that the ``expect`` list does not name, and items of it not found."""
    unexpected = [row for row in found if not any(_matches(i, _kind(row)) for i in expect)]
    absent = [item for item in expect if not any(_matches(item, _kind(r)) for r in found)]
    return [
        *(f"unexpected problem: {_brief(row)}" for row in unexpected),
        *(f"missing expected problem: {item}" for item in absent),
    ]


def _kind(problem: dict) -> tuple[str, str, str]:
    """(severity-or-'missing', field, check id) of one problem row."""
    check = problem["hint"][len("check ") :] if problem["hint"].startswith("check ") else ""
    severity = problem["severity"]
    if severity == "warning" and (
        problem.get("message") == "missing" or problem["expected"].startswith("a value (needed for")
    ):
        severity = "missing"
    return severity, problem["field"], check


def _matches(item: str, kind: tuple[str, str, str]) -> bool:
    severity, name, *check = item.split(":")
    return (severity, name, check[0] if check else "") == kind


BRIEF_KEYS = ("sheet", "cell", "field", "year", "value", "message", "expected", "severity", "hint")


def _brief(row: dict) -> str:
    return " | ".join(f"{row.get(key, '')}" for key in BRIEF_KEYS)


def _row_number(cell: str) -> int | str:
    """Excel row of a list cell ("L123" or "row 123")."""
    digits = cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ").removeprefix("row ").strip()
    return int(digits) if digits.isdigit() else cell


def _value_of(read: ReadBack, project_id: str, key: str) -> object:
    """The value read for a field (``series@year`` for a yearly value); None when blank."""
    if "@" in key:
        series, year = key.split("@")
        return read.yearly_values.get((project_id, series, int(year)))
    value = read.projects.at[project_id, key]
    return None if value is None or (not isinstance(value, str) and bool(pd.isna(value))) else value


def _same(got: object, want: object, tolerance: float) -> bool:
    """Does a value read back equal the source value (numbers within a relative tolerance)?"""
    if want is None or got is None:
        return want is None and got is None
    if isinstance(want, bool):
        return bool(got) == want
    if isinstance(want, dt.date):
        got = got.date() if hasattr(got, "date") else got
        return got == want or (
            tolerance > 1e-6 and (got.year, got.month, got.day) == (want.year, want.month, 1)
        )
    if isinstance(want, int | float):
        return abs(float(got) - want) <= tolerance * max(abs(want), 1e-9)
    return str(got) == str(want)


def _sample_truth(sample: Sample) -> dict[str, object]:
    """The values of a sample in base units (series as ``name@year``), as the reader should
    return them; a value expected to fail its range check is expected blank."""
    blanked = {
        item.split(":")[1]
        for item in sample.expect
        if item.startswith("error:") and item.count(":") == 1
    }
    values = {name: value for name, value in sample.values.items() if name != "project_id"}
    for series, by_year in sample.yearly.items():
        values.update({f"{series}@{year}": value for year, value in by_year.items()})
    return {
        key: None if key.split("@")[0] in blanked else _in_base_unit(sample, key, value)
        for key, value in values.items()
    }


def _in_base_unit(sample: Sample, key: str, value: object) -> object:
    """A TOML value (of field or ``series@year`` ``key``) converted from its unit."""
    dictionary = load_dictionary()
    name = key.split("@")[0]
    kind = dictionary.fields[name].type
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind not in ("number", "integer", "fraction", "series"):
        return value
    unit = dictionary.unit(sample.units.get(name, dictionary.fields[name].unit) or "")
    if unit is None:
        return value * 1.0
    fx = sample.values.get("fx_usd_cny") if unit.needs_fx else 1
    return value * (unit.factor.numerator / unit.factor.denominator) * fx


def _candidate_truth(
    candidate: Candidate, planted: list[Planted]
) -> tuple[dict[str, object], dict[str, float]]:
    """A candidate's values in base units, and the tolerance of the cells typed messy: a
    wrong cell is expected blank, a rounded one ("85%", "12.5亿", "2020年6月") within 1 %."""
    truth = {
        column.key: column.truth(candidate)
        for column in CANDIDATE_COLUMNS
        if column.key != "project_id"
    }
    tolerance = {}
    for item in planted:
        if item.project_id != candidate.project_id:
            continue
        if item.severity:
            truth[item.key] = None  # unreadable or out of range: blanked
        else:
            tolerance[item.key] = 0.01
    return truth, tolerance


# --- the files as generated -----------------------------------------------------------------
def _candidate_cells_section(listing: CandidateList) -> Section:
    """A candidate sheet, cell by cell, against the one the generator gives."""
    name = _relative(listing.path)
    if not listing.path.exists():
        return Section(name, None, ["the file is missing"])
    book = load_workbook(listing.path, read_only=True)
    try:
        got = [_trimmed(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    want = [_trimmed(row) for row in listing.sheet_rows()]
    differences = [
        f"cell {get_column_letter(column)}{number}: file {cell!r}, source {wanted!r}"
        for number, (got_row, want_row) in enumerate(zip_longest(got, want, fillvalue=[]), 1)
        for column, (cell, wanted) in enumerate(zip_longest(got_row, want_row), 1)
        if cell != wanted
    ]
    return Section(name, None, _first(differences, "cells"))


def _trimmed(row) -> list[object]:
    """A row's values without its trailing blanks, dates as dates."""
    values = [value.date() if isinstance(value, dt.datetime) else value for value in row]
    while values and values[-1] is None:
        values.pop()
    return values


def _edge_text_section(text: str) -> Section:
    """The edge-site CSV, line by line, against the text the generator gives."""
    if not EDGE_CSV.exists():
        return Section(EDGE_CSV.name, None, ["the file is missing"])
    got = EDGE_CSV.read_bytes().decode("gbk", errors="replace").splitlines()
    differences = [
        f"line {number}: file {line!r}, source {wanted!r}"
        for number, (line, wanted) in enumerate(zip_longest(got, text.splitlines()), 1)
        if line != wanted
    ]
    return Section(EDGE_CSV.name, None, _first(differences, "lines"))


def _checks_section(read: ReadBack, rows: list[CheckRow], text: str) -> Section:
    """The plausibility-check list: its text, the values read back, and no problem other
    than a programme field left blank."""
    name = _relative(CHECKS_CSV)
    got = CHECKS_CSV.read_text(encoding="utf-8") if CHECKS_CSV.exists() else ""
    differences = [] if got == text else ["the file is not the text its source gives"]
    for row in rows:
        differences += _value_differences(read, row.project_id, _check_truth(row))
    found = read.by_file.get(name, [])
    differences += [f"unexpected problem: {_brief(r)}" for r in found if _kind(r)[0] != "missing"]
    return Section(name, None, differences)


def _readme_section(src: Sources) -> Section:
    text = README.read_text(encoding="utf-8")
    same = _readme_text(text, src) == text
    return Section(README.name, None, [] if same else ["a README table is not its TOML's"])


def _readme_text(text: str, src: Sources) -> str:
    text = _with_table(text, readme_table(src.samples))
    return _with_table(text, checks_table(src.checks), CHECKS_START, CHECKS_END)


def _first(differences: list[str], what: str, count: int = 20) -> list[str]:
    """The first ``count`` differences, and how many more there are."""
    more = len(differences) - count
    return differences[:count] + ([f"... and {more} more {what}"] if more > 0 else [])


# --- the report -----------------------------------------------------------------------------
def report(comparison: Comparison) -> int:
    """Print the comparison (one line per section and difference, then every problem other
    than a missing programme field); return 0 when all agree, else 1."""
    for section in comparison.sections:
        for line in section.lines():
            print(f"     {line}")
    read, failures = comparison.read, comparison.failures
    _print_problems(read.problems)
    outcome = f"{failures} check(s) FAILED" if failures else "all checks passed"
    print(
        f"\n{len(read.projects)} projects, {len(read.yearly)} yearly values, "
        f"{len(read.problems)} problems; {outcome}"
    )
    return 1 if failures else 0


def _print_problems(problems: pd.DataFrame) -> None:
    shown = problems[problems["severity"].eq("error") | ~problems["message"].eq("missing")]
    with pd.option_context(
        "display.width", 250, "display.max_colwidth", 60, "display.max_rows", 100
    ):
        print("\nAll problems other than missing programme fields:")
        print(
            shown.assign(file=shown["file"].map(_relative))
            .drop(columns=["project_id"])
            .to_string(index=False)
        )


# ============================================================================================
# Command line
# ============================================================================================
def write_all(src: Sources) -> None:
    write_samples(src.samples)
    for listing in src.lists:
        write_candidate_list(listing)
    write_edge_csv(src.edge_text)
    CHECKS_CSV.write_text(src.checks_text, encoding="utf-8")
    README.write_text(_readme_text(README.read_text(encoding="utf-8"), src), encoding="utf-8")
    lists = ", ".join(str(p.relative_to(ROOT)) for p in (*(x.path for x in src.lists), EDGE_CSV))
    print(f"wrote {len(src.samples)} workbooks, {lists} and {CHECKS_CSV.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--check",
        action="store_true",
        help="read the output back and compare the problems with the sources",
    )
    modes.add_argument(
        "--verify",
        action="store_true",
        help="write nothing: compare the files as they are with the sources (exit 1 if not)",
    )
    args = parser.parse_args(argv)
    src = sources()
    if not args.verify:
        write_all(src)
    return report(compare(src)) if args.check or args.verify else 0


if __name__ == "__main__":
    raise SystemExit(main())
