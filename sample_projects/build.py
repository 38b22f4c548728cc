"""Regenerate every sample input in ``sample_projects/`` from readable sources.

Run from anywhere::

    python sample_projects/build.py            # write the workbooks, the lists and README table
    python sample_projects/build.py --check    # ... then read them back and compare problems

What it writes:

* one official application workbook per ``[[project]]`` of ``source/projects.toml``, through
  the engine's own template writer (:func:`assessment.write_template`);
* ``candidates/candidate_list_2025.xlsx``: a plain spreadsheet of 210 candidate projects, made by
  :func:`candidate_projects` (seeded, see its docstring for the assumptions), with the messy
  and wrong cells of :func:`plant_messy_cells`;
* ``candidates/edge_sites_gbk.csv``: 20 edge sites in a GBK-encoded CSV with Chinese headers;
* the sample table of ``README.md`` (between the ``samples:start``/``samples:end`` markers).

A workbook ``NN_*.xlsx`` left over from a project no longer in the TOML is deleted.

The output is deterministic: the same sources give the same cell contents (openpyxl stamps the
save time into ``docProps/core.xml`` and the zip entries, so the bytes still differ).

``--check`` reads the whole folder with :func:`assessment.read_applications` (as of 2025-06-30)
and compares (1) every value read back, in base units, with the source (the TOML values
converted from their units; the generated candidates and edge sites), and (2) the problems
with what the sources say to expect: the ``expect`` list of each project, and the cells made
wrong on purpose in the candidate list. It exits with status 1 on any difference.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # use the engine of this checkout

from assessment import load_dictionary, write_template  # noqa: E402

SOURCE = HERE / "source" / "projects.toml"
CANDIDATES = HERE / "candidates"
CANDIDATE_XLSX = CANDIDATES / "candidate_list_2025.xlsx"
EDGE_CSV = CANDIDATES / "edge_sites_gbk.csv"
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


def load_samples(path: Path = SOURCE) -> list[Sample]:
    """Read and sanity-check the TOML source (field names, not values: some are wrong on
    purpose)."""
    dictionary = load_dictionary()
    with path.open("rb") as handle:
        tables = tomllib.load(handle)["project"]
    samples, files, ids = [], set(), set()
    for number, table in enumerate(tables, start=1):
        where = f"{path.name}, project {number} ({table.get('file', '?')})"
        for key in ("file", "lang", "note"):
            if key not in table:
                raise SystemExit(f"{where}: missing {key!r}")
        if table["lang"] not in ("en", "zh"):
            raise SystemExit(f"{where}: lang must be 'en' or 'zh'")
        if not table["file"].endswith(".xlsx") or "/" in table["file"]:
            raise SystemExit(f"{where}: file must be a bare .xlsx name")
        values = {k: v for k, v in table.items() if k not in META_KEYS}
        yearly = {
            series: {int(year): value for year, value in by_year.items()}
            for series, by_year in table.get("yearly", {}).items()
        }
        units = dict(table.get("units", {}))
        for name in values:
            if name not in dictionary.fields or dictionary.fields[name].type == "series":
                raise SystemExit(f"{where}: {name!r} is not a scalar field of fields.csv")
        for name in yearly:
            if name not in dictionary.fields or dictionary.fields[name].type != "series":
                raise SystemExit(f"{where}: {name!r} is not a yearly series of fields.csv")
        for name, unit in units.items():
            known = dictionary.fields.get(name)
            if (
                known is None
                or dictionary.unit(unit) is None
                or dictionary.unit(unit).dimension != known.unit
            ):
                raise SystemExit(f"{where}: unit {unit!r} does not fit field {name!r}")
        for item in table.get("expect", []):
            if item.split(":")[0] not in SEVERITIES or len(item.split(":")) not in (2, 3):
                raise SystemExit(f"{where}: expect item {item!r} is not severity:field[:check]")
        if table["file"] in files or values.get("project_id") in ids:
            raise SystemExit(f"{where}: file name or project_id used twice")
        files.add(table["file"])
        ids.add(values.get("project_id"))
        samples.append(
            Sample(
                table["file"],
                table["lang"],
                table["note"],
                list(table.get("expect", [])),
                values,
                units,
                yearly,
            )
        )
    return samples


def write_samples(samples: list[Sample]) -> None:
    wanted = {sample.file for sample in samples}
    for stale in sorted(HERE.glob("[0-9][0-9]_*.xlsx")):
        if stale.name not in wanted:
            stale.unlink()
    for sample in samples:
        write_template(
            HERE / sample.file,
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
    """
    rng = random.Random(seed)
    rows = []
    for number in range(1, count + 1):
        kind_of_site = _pick(rng, SITES)
        province, city, city_en, hub, cluster = kind_of_site
        facility = _pick(rng, TYPES)
        if facility == "edge" and cluster != "none":
            facility = "general"
        project_kind = _pick(rng, KINDS[facility])
        low, high = RACKS[facility]
        racks = round(low * (high / low) ** rng.random())
        if facility != "edge":
            racks = round(racks, -2)
        it_load_kw = round(racks * 2.5 * rng.uniform(0.95, 1.05), 0 if facility == "edge" else -1)
        load_mw = it_load_kw / 1000
        existing = project_kind != "new"
        utilisation = round(rng.uniform(0.45, 0.95), 3) if existing else None
        if existing:
            load_factor = min(0.85, max(0.50, utilisation * rng.uniform(0.75, 0.90)))
        else:
            load_factor = rng.uniform(0.50, 0.70)
        it_energy = float(round(load_mw * 8760 * load_factor))
        pflops = {"intelligent_computing": 0.04, "supercomputing": 0.025}.get(facility)
        compute = round(it_load_kw * pflops * rng.uniform(0.8, 1.2), -1) if pflops else None
        if facility == "edge":
            design = rng.uniform(1.30, 1.45)
        elif province in COLD or cluster == "zhangjiakou":
            design = rng.uniform(1.12, 1.22)
        elif province in MILD_HYDRO:
            design = rng.uniform(1.15, 1.28)
        else:
            design = rng.uniform(1.20, 1.30)
        measured = design * rng.uniform(1.00, 1.10) if existing else None
        if project_kind == "retrofit":
            measured, design = rng.uniform(1.45, 1.65), rng.uniform(1.25, 1.35)
        wue = (
            rng.uniform(0.0, 0.3)
            if facility == "edge"
            else rng.uniform(0.2, 0.8)
            if province in COLD
            else rng.uniform(0.8, 1.8)
        )
        green = (
            GREEN_ZHANGJIAKOU if cluster == "zhangjiakou" else GREEN.get(province, GREEN_DEFAULT)
        )
        green_share = round(rng.uniform(*green), 2)
        build_cost = load_mw * rng.uniform(*COST_PER_MW[facility]) * 1e6
        if facility == "edge":
            build_cost += rng.uniform(0.3, 1.0) * 1e6
        land = 0.0 if facility == "edge" else build_cost * rng.uniform(0.03, 0.10)
        value_base = build_cost + land
        investment = (
            value_base if project_kind != "retrofit" else load_mw * rng.uniform(1.5, 3.0) * 1e6
        )
        if project_kind == "operating":
            if load_mw >= 40 and rng.random() < 0.45:
                purpose = "reit"
            else:
                purpose = "acquisition" if rng.random() < 0.25 else "refinancing"
        else:
            purpose = {"new": "construction", "expansion": "construction", "retrofit": "retrofit"}[
                project_kind
            ]
        started = None
        if existing:
            started = (
                _date(rng, 2010, 2016) if project_kind == "retrofit" else _date(rng, 2015, 2023)
            )
            if purpose == "reit" and started.year > 2021:
                started = _date(rng, 2016, 2021)
        investment = round(investment, -4)
        equity = round(investment * rng.uniform(0.20, 0.40), -4)
        if purpose == "reit":
            loan = tenor = None
        else:
            loan = round((investment - equity) * rng.uniform(0.60, 0.95), -4)
            tenor = float(rng.randint(3, 7) if facility == "edge" else rng.randint(5, 15))
        revenue, ebitda, ocf = {}, {}, {}
        if started is not None:
            stable = value_base * (0.30 if facility == "edge" else 0.20) * rng.uniform(0.85, 1.15)
            margin = rng.uniform(0.38, 0.50)
            growth = rng.uniform(0.0, 0.04)
            for year in YEARS:
                if year < started.year:
                    continue
                age = year - started.year
                ramp = min(1.0, 0.55 + 0.15 * age)
                share = (12 - started.month + 1) / 12 if age == 0 else 1.0
                trend = (1 + growth) ** (year - 2022) * rng.uniform(0.97, 1.03)
                revenue[year] = round(stable * ramp * share * trend, -4)
                ebitda[year] = round(revenue[year] * (margin - (0.10 if age == 0 else 0)), -4)
                ocf[year] = round(ebitda[year] * rng.uniform(0.80, 0.95), -4)
        appraised = None
        if purpose == "reit":
            appraised = round(ebitda[2024] / rng.uniform(0.065, 0.08), -6)
        elif purpose == "acquisition":
            appraised = round(investment * rng.uniform(1.0, 1.3), -6)
        use_en = rng.random() < 0.15
        name = (
            f"{city_en} {NAME_EN[facility]}" if use_en else f"{city}{rng.choice(NAME_ZH[facility])}"
        )
        if project_kind == "retrofit":
            name = f"{city_en} Data Centre Energy Retrofit" if use_en else f"{city}数据中心节能改造"
        sponsor = f"{city}{rng.choice(SPONSOR_MID)}{rng.choice(SPONSOR_END)}"
        rows.append(
            Candidate(
                f"CL-{number:04d}",
                name,
                sponsor,
                province,
                city,
                hub,
                cluster,
                facility,
                project_kind,
                purpose,
                racks,
                it_load_kw,
                utilisation,
                compute,
                None if measured is None else round(measured, 2),
                round(design, 2),
                round(wue, 2),
                it_energy,
                green_share,
                investment,
                equity,
                loan,
                tenor,
                started,
                appraised,
                revenue,
                ebitda,
                ocf,
            )
        )
    return rows


# One column of the candidate list: header, field key (``series@year`` for yearly columns), the
# cell as written in the header's unit, and the value in base units the reader must return.
@dataclass(frozen=True)
class Column:
    header: str
    key: str
    cell: object
    truth: object


def _scaled(get, factor: float, digits: int | None = None):
    def cell(c: Candidate) -> object:
        value = get(c)
        if value is None:
            return None
        value /= factor
        return round(value, digits) if digits is not None else value

    return cell


def _col(header: str, key: str, get, factor: float = 1.0, digits: int | None = None) -> Column:
    return Column(
        header,
        key,
        _scaled(get, factor, digits) if factor != 1.0 or digits is not None else get,
        get,
    )


CANDIDATE_COLUMNS = [
    _col("项目编号", "project_id", lambda c: c.project_id),
    _col("Project name", "project_name", lambda c: c.name),
    _col("发起人", "sponsor", lambda c: c.sponsor),
    _col("省份", "province", lambda c: c.province),
    _col("City", "city", lambda c: c.city),
    _col("Hub", "hub", lambda c: c.hub),
    _col("集群", "cluster", lambda c: c.cluster),
    _col("设施类型", "facility_type", lambda c: c.facility_type),
    _col("Project kind", "project_kind", lambda c: c.project_kind),
    _col("融资用途", "financing_purpose", lambda c: c.financing_purpose),
    _col("Racks", "racks", lambda c: c.racks),
    _col("IT load (kW)", "it_load_mw", lambda c: c.it_load_kw / 1000, 1e-3, 0),
    _col("上架率(%)", "rack_utilisation", lambda c: c.utilisation, 1e-2, 1),
    _col("算力(PFLOPS)", "compute_pflops", lambda c: c.compute_pflops),
    _col("PUE", "pue", lambda c: c.pue),
    _col("设计PUE", "pue_design", lambda c: c.pue_design),
    _col("WUE (L/kWh)", "wue_l_per_kwh", lambda c: c.wue),
    _col("IT年用电量（万千瓦时）", "it_energy_mwh", lambda c: c.it_energy_mwh, 10, 1),
    _col("Green power share", "green_power_share", lambda c: c.green_share),
    _col("Total investment (亿元)", "total_investment_cny", lambda c: c.investment, 1e8, 4),
    _col("资本金(万元)", "equity_cny", lambda c: c.equity, 1e4, 0),
    _col("Loan amount (CNY million)", "loan_amount_cny", lambda c: c.loan, 1e6, 2),
    _col("贷款期限(年)", "loan_tenor_years", lambda c: c.tenor),
    _col("投运日期", "operating_since", lambda c: c.operating_since),
    _col("Appraised value (亿元)", "appraised_value_cny", lambda c: c.appraised, 1e8, 2),
    *[_col(f"revenue_cny_{y}", f"revenue_cny@{y}", lambda c, y=y: c.revenue.get(y)) for y in YEARS],
    *[
        _col(f"ebitda_cny_{y} (万元)", f"ebitda_cny@{y}", lambda c, y=y: c.ebitda.get(y), 1e4, 1)
        for y in YEARS[1:]
    ],
    *[
        _col(
            f"operating_cash_flow_cny_{y}",
            f"operating_cash_flow_cny@{y}",
            lambda c, y=y: c.ocf.get(y),
        )
        for y in YEARS
    ],
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


def candidate_cells(
    candidates: list[Candidate], seed: int = 2025
) -> tuple[list[str], list[list[object]]]:
    """The header and the cells of each candidate, before the planted messiness."""
    rng = random.Random(seed + 1)
    header = [column.header for column in CANDIDATE_COLUMNS]
    rows = []
    for candidate in candidates:
        cells = [column.cell(candidate) for column in CANDIDATE_COLUMNS]
        for set_name, column in (
            ("province", "省份"),
            ("hub", "Hub"),
            ("cluster", "集群"),
            ("facility_type", "设施类型"),
            ("project_kind", "Project kind"),
            ("financing_purpose", "融资用途"),
        ):
            index = header.index(column)
            cells[index] = _label(set_name, cells[index], rng)
        rows.append(cells)
    return header, rows


def plant_messy_cells(
    header: list[str], rows: list[list[object]], candidates: list[Candidate]
) -> tuple[list[list[object] | None], list[Planted]]:
    """Make a few cells messy the way people type them, and 3 rows wrong.

    Readable mess (must parse): racks as "1,200" (thousands separator in text), a start date
    "2020年6月" (month only), utilisation "85%" (percent sign in a % column), green share "35%"
    (percent in a fraction column), investment "12.5亿" (unit inside the cell), full-width
    digits in a PUE and a racks cell, "—" and "N/A" for values that do not apply, and a blank
    row in the middle.
    Genuine errors (must be reported): a PUE of 4.2, "unknown" in the IT load column, and a
    utilisation of 128 %.
    Rows are chosen by rule (the first candidate after a position that fits), so the choice
    follows the seeded data. Returns the rows (None = the blank row) and the planted cells.
    """
    columns = {column.header: (index, column.key) for index, column in enumerate(CANDIDATE_COLUMNS)}
    used: set[int] = set()
    planted: list[Planted] = []

    def put(after: int, test, header: str, cell, severity: str = "") -> None:
        index = next(
            (i for i in range(after, len(candidates)) if i not in used and test(candidates[i])),
            None,
        )
        if index is None:
            raise SystemExit(f"no candidate fits the planted {header} cell; change the rule")
        used.add(index)
        column, key = columns[header]
        rows[index][column] = cell(candidates[index])
        planted.append(Planted(candidates[index].project_id, key, severity))

    put(
        5,
        lambda c: 1000 <= c.racks < 10000 and c.facility_type != "edge",
        "Racks",
        lambda c: f"{c.racks:,}",
    )
    put(
        12,
        lambda c: c.operating_since is not None,
        "投运日期",
        lambda c: f"{c.operating_since.year}年{c.operating_since.month}月",
    )
    put(
        20,
        lambda c: c.utilisation is not None,
        "上架率(%)",
        lambda c: f"{round(c.utilisation * 100)}%",
    )
    put(30, lambda c: True, "Green power share", lambda c: f"{round(c.green_share * 100)}%")
    put(
        40,
        lambda c: c.investment >= 1e8,
        "Total investment (亿元)",
        lambda c: f"{round(c.investment / 1e8, 2)}亿",
    )
    put(50, lambda c: c.pue is not None, "PUE", lambda c: _full_width(f"{c.pue:.2f}"))
    put(60, lambda c: c.facility_type != "edge", "Racks", lambda c: _full_width(str(c.racks)))
    for after in (70, 150):
        put(
            after,
            lambda c: c.appraised is None and c.project_kind == "new",
            "Appraised value (亿元)",
            lambda c: "—",
        )
    put(80, lambda c: c.pue is None, "PUE", lambda c: "N/A")
    put(90, lambda c: c.project_kind == "retrofit", "PUE", lambda c: 4.2, "error")  # meant 1.42
    put(130, lambda c: c.facility_type == "general", "IT load (kW)", lambda c: "unknown", "error")
    put(170, lambda c: c.utilisation is not None, "上架率(%)", lambda c: 128.0, "error")  # 82.8

    blank_after = 105
    return [*rows[:blank_after], None, *rows[blank_after:]], planted


TITLE_ROWS = [
    "2025年度算力基础设施项目融资候选清单 / Candidate list of computing-infrastructure "
    "projects, 2025",
    "编制：投融资部；数据截至2025-05-31；金额单位见各列标题 (amount units are given in the "
    "column headers; yearly columns are <series>_<year>)",
]


def write_candidate_list(path: Path = CANDIDATE_XLSX) -> list[Planted]:
    """Write the candidate list and return the planted errors with their Excel rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    candidates = candidate_projects()
    header, rows = candidate_cells(candidates)
    rows, planted = plant_messy_cells(header, rows, candidates)
    book = Workbook()
    sheet = book.active
    sheet.title = "候选项目"
    sheet.append([TITLE_ROWS[0]])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([TITLE_ROWS[1]])
    sheet.append([])
    sheet.append(header)
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    for row in rows:
        if row is None:
            sheet.append([])  # the blank row: openpyxl still moves on one row
            continue
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = sheet.cell(header_row + 1, 3)
    for index, title in enumerate(header, start=1):
        sheet.column_dimensions[sheet.cell(header_row, index).column_letter].width = max(
            10, min(28, len(title) + 4)
        )
    rows_of = {
        row[0]: number
        for number, row in enumerate(
            sheet.iter_rows(min_row=header_row + 1, max_col=1, values_only=True),
            start=header_row + 1,
        )
    }
    for item in planted:
        item.row = rows_of[item.project_id]
    book.properties.creator = "sample_projects/build.py"
    book.properties.created = dt.datetime(2025, 6, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return planted


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


def edge_sites(count: int = 20, seed: int = 2026) -> list[dict[str, object]]:
    """Edge sites in base units (CNY, MW, MWh, fractions) with choice codes.

    Assumptions (``random.Random(seed)``): 8-90 standard racks in a city outside the clusters;
    IT load = racks x 2.5 kW x U(0.95, 1.05); half operating since 2021-2024 (refinancing, with
    utilisation 50-92 % and a measured PUE 0-8 % above design), half new builds (construction);
    design PUE 1.30-1.45; IT energy at a 0.50-0.75 load factor; green power 5-30 %; investment
    CNY 12-15 m per MW plus a CNY 0.3-1.0 m fit-out; equity 25-40 %; loan 60-95 % of the rest
    over 3-6 years.
    """
    rng = random.Random(seed)
    sites = []
    for number in range(1, count + 1):
        province, _, city, hub, _ = rng.choice(EDGE_CITIES)
        racks = rng.randint(8, 90)
        load_mw = round(racks * 2.5 * rng.uniform(0.95, 1.05)) / 1000
        operating = rng.random() < 0.5
        design = round(rng.uniform(1.30, 1.45), 2)
        investment = round(load_mw * rng.uniform(12, 15) * 1e6 + rng.uniform(0.3, 1.0) * 1e6, -4)
        equity = round(investment * rng.uniform(0.25, 0.40), -4)
        sites.append(
            {
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
            }
        )
    return sites


def _edge_cell(
    site: dict[str, object], field_name: str, factor: float, rng: random.Random
) -> object:
    """A site's value as a Chinese-locale export shows it: labels, 万元, %, ISO dates."""
    value = site[field_name]
    if value is None:
        return ""
    if field_name == "province":
        return next(row[1] for row in EDGE_CITIES if row[0] == value)
    if field_name == "hub":
        return next(row[4] for row in EDGE_CITIES if row[2] == site["city"])
    if field_name == "cluster":
        return rng.choice(["无", "非集群"])
    if field_name == "facility_type":
        return rng.choice(["边缘数据中心", "边缘节点", "边缘计算中心"])
    if field_name in ("project_kind", "financing_purpose"):
        return {
            "operating": "已运营",
            "new": "新建",
            "refinancing": "再融资",
            "construction": "建设",
        }[value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        value = round(value / factor, 4)
        return int(value) if value.is_integer() else value  # as Excel exports 120.0: "120"
    return value


def write_edge_csv(path: Path = EDGE_CSV) -> list[dict[str, object]]:
    rng = random.Random(2027)
    sites = edge_sites()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="gbk", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([header for header, _, _ in EDGE_COLUMNS])
        for site in sites:
            writer.writerow(
                [_edge_cell(site, name, factor, rng) for _, name, factor in EDGE_COLUMNS]
            )
    return sites


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


def update_readme(samples: list[Sample]) -> None:
    lines = [
        README_START,
        "",
        "| File | Project | Lang | What it shows | Problems the reader reports |",
        "| --- | --- | --- | --- | --- |",
    ]
    for sample in samples:
        name = sample.values.get("project_name", "*(blank)*")
        lines.append(
            f"| `{sample.file}` | {sample.values.get('project_id', '')} {name} | "
            f"{sample.lang} | {sample.note} | {_expect_text(sample.expect)} |"
        )
    lines += ["", README_END]
    text = README.read_text(encoding="utf-8")
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    README.write_text(text[:start] + "\n".join(lines) + text[end:], encoding="utf-8")


# ============================================================================================
# --check
# ============================================================================================
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


def _brief(row: dict) -> str:
    return " | ".join(
        f"{row.get(k, '')}"
        for k in (
            "sheet",
            "cell",
            "field",
            "year",
            "value",
            "message",
            "expected",
            "severity",
            "hint",
        )
    )


def _row_number(cell: str) -> int | str:
    """Excel row of a list cell ("L123" or "row 123")."""
    digits = cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ").removeprefix("row ").strip()
    return int(digits) if digits.isdigit() else cell


def _value_of(projects, yearly_values: dict, project_id: str, key: str) -> object:
    if "@" in key:
        series, year = key.split("@")
        return yearly_values.get((project_id, series, int(year)))
    value = projects.at[project_id, key]
    return None if value is None or (not isinstance(value, str) and _isna(value)) else value


def _isna(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


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
    dictionary = load_dictionary()
    fx = sample.values.get("fx_usd_cny")
    blanked = {
        item.split(":")[1]
        for item in sample.expect
        if item.startswith("error:") and item.count(":") == 1
    }

    def base(name: str, value: object) -> object:
        kind = dictionary.fields[name].type
        if name in blanked:
            return None
        if kind == "date":
            return dt.date.fromisoformat(value)
        if kind not in ("number", "integer", "fraction", "series"):
            return value
        unit = dictionary.unit(sample.units.get(name, dictionary.fields[name].unit) or "")
        factor = 1.0 if unit is None else unit.factor.numerator / unit.factor.denominator
        return value * factor * (fx if unit is not None and unit.needs_fx else 1)

    truth = {
        name: base(name, value) for name, value in sample.values.items() if name != "project_id"
    }
    for series, by_year in sample.yearly.items():
        truth.update({f"{series}@{year}": base(series, value) for year, value in by_year.items()})
    return truth


def check(
    samples: list[Sample],
    planted: list[Planted],
    candidates: list[Candidate],
    sites: list[dict[str, object]],
) -> int:
    """Read the folder back; compare values and problems with the sources. Returns 0 or 1."""
    import pandas as pd

    from assessment import read_applications

    projects, yearly, problems = read_applications([HERE], as_of=AS_OF)
    yearly_values = {(r.project_id, r.series, r.year): r.value for r in yearly.itertuples()}
    rows = problems.to_dict("records")
    by_file: dict[str, list[dict]] = {}
    for row in rows:
        by_file.setdefault(Path(row["file"]).name, []).append(row)
    failures = 0

    def compare(
        label: str,
        project_id: str,
        truth: dict[str, object],
        tolerance: dict[str, float],
        default: float = 1e-9,
    ) -> int:
        if project_id not in projects.index:
            print(f"     {label}: {project_id} is not in projects")
            return 1
        wrong = 0
        for key, want in truth.items():
            got = _value_of(projects, yearly_values, project_id, key)
            if not _same(got, want, tolerance.get(key, default)):
                print(f"     {label} {project_id} {key}: read {got!r}, source {want!r}")
                wrong += 1
        return wrong

    for sample in samples:
        found = by_file.pop(sample.file, [])
        unexpected = [r for r in found if not any(_matches(i, _kind(r)) for i in sample.expect)]
        absent = [i for i in sample.expect if not any(_matches(i, _kind(r)) for r in found)]
        errors = sum(r["severity"] == "error" for r in found)
        print(f"     {sample.file}: {len(found)} problems ({errors} errors)")
        wrong = compare("value", sample.values.get("project_id"), _sample_truth(sample), {})
        for row in unexpected:
            print(f"     unexpected problem: {_brief(row)}")
        for item in absent:
            print(f"     missing expected problem: {item}")
        failures += bool(unexpected or absent or wrong)

    messy = {(p.project_id, p.key): p for p in planted}
    wrong = 0
    for candidate in candidates:
        truth = {
            column.key: column.truth(candidate)
            for column in CANDIDATE_COLUMNS
            if column.key != "project_id"
        }
        tolerance = {}
        for (project_id, key), item in messy.items():
            if project_id == candidate.project_id:
                if item.severity:
                    truth[key] = None  # unreadable or out of range: blanked
                else:
                    tolerance[key] = 0.01  # typed rounded ("85%", "12.5亿", "2020年6月")
        wrong += compare("value", candidate.project_id, truth, tolerance)
    for site in sites:
        truth = {k: v for k, v in site.items() if k != "project_id"}
        wrong += compare("value", site["project_id"], truth, {}, 1e-6)
    print(f"     candidate and edge-site values read back: {wrong} differences")
    failures += bool(wrong)

    for name, want_rows in (
        (CANDIDATE_XLSX.name, [p for p in planted if p.severity]),
        (EDGE_CSV.name, []),
    ):
        found = by_file.pop(name, [])
        count = (projects["source_file"].map(lambda f: Path(f).name) == name).sum()
        want = {(p.row, p.field, p.severity) for p in want_rows}
        got = {
            (_row_number(r["cell"]), r["field"], _kind(r)[0])
            for r in found
            if _kind(r)[0] != "missing"
        }
        missing_by_field = Counter(r["field"] for r in found if _kind(r)[0] == "missing")
        errors = sum(r["severity"] == "error" for r in found)
        print(
            f"     {name}: {count} projects, {len(found)} problems ({errors} errors); "
            f"programme fields missing (rows): {dict(sorted(missing_by_field.items()))}"
        )
        for key in sorted(got - want, key=str):
            print(f"     unexpected problem: {key}")
        for key in sorted(want - got, key=str):
            print(f"     missing expected problem: {key}")
        failures += got != want
    for name, found in by_file.items():
        failures += 1
        print(f"     {name}: not a known sample, {len(found)} problems")

    shown = problems[problems["severity"].eq("error") | ~problems["message"].eq("missing")]
    with pd.option_context(
        "display.width", 250, "display.max_colwidth", 60, "display.max_rows", 100
    ):
        print("\nAll problems other than missing programme fields:")
        print(
            shown.assign(file=shown["file"].map(lambda f: Path(f).name))
            .drop(columns=["project_id"])
            .to_string(index=False)
        )
    print(
        f"\n{len(projects)} projects, {len(yearly)} yearly values, {len(problems)} problems; "
        f"{'all checks passed' if not failures else f'{failures} check(s) FAILED'}"
    )
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="read the output back and compare the problems with the sources",
    )
    args = parser.parse_args(argv)
    samples = load_samples()
    write_samples(samples)
    planted = write_candidate_list()
    sites = write_edge_csv()
    update_readme(samples)
    print(
        f"wrote {len(samples)} workbooks, {CANDIDATE_XLSX.relative_to(ROOT)} and "
        f"{EDGE_CSV.relative_to(ROOT)}"
    )
    return check(samples, planted, candidate_projects(), sites) if args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
