"""Regenerate every sample input in ``sample_projects/`` from readable sources.

Run from anywhere::

    python sample_projects/build.py            # write the workbooks, the lists and README table
    python sample_projects/build.py --check    # ... then read them back and compare problems

What it writes:

* one official application workbook per ``[[project]]`` of ``source/projects.toml``, through
  the engine's own template writer (:func:`assessment.write_template`);
* ``candidates/candidate_list_2025.xlsx``: a plain spreadsheet of 210 candidate projects, made by
  :func:`candidate_projects` (seeded, see its docstring for the assumptions) and laid out by
  :func:`write_candidate_list` (see its docstring for the deliberately messy cells);
* ``candidates/edge_sites_gbk.csv``: 20 edge sites in a GBK-encoded CSV with Chinese headers;
* the sample table of ``README.md`` (between the ``samples:start``/``samples:end`` markers).

The output is deterministic: the same sources give the same cell contents (openpyxl stamps the
save time into ``docProps/core.xml`` and the zip entries, so the bytes still differ).

``--check`` reads the whole folder with :func:`assessment.read_applications` (as of 2025-06-30)
and compares the problems with what the sources say to expect: the ``expect`` list of each
project, and the rows made wrong on purpose in the candidate list. It exits with status 1 on
any difference: a missing, unexpected, or extra problem.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import tomllib
import unicodedata
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
        yearly = {series: {int(year): value for year, value in by_year.items()}
                  for series, by_year in table.get("yearly", {}).items()}
        units = dict(table.get("units", {}))
        for name in values:
            if name not in dictionary.fields or dictionary.fields[name].type == "series":
                raise SystemExit(f"{where}: {name!r} is not a scalar field of fields.csv")
        for name in yearly:
            if name not in dictionary.fields or dictionary.fields[name].type != "series":
                raise SystemExit(f"{where}: {name!r} is not a yearly series of fields.csv")
        for name, unit in units.items():
            known = dictionary.fields.get(name)
            if known is None or dictionary.unit(unit) is None or \
                    dictionary.unit(unit).dimension != known.unit:
                raise SystemExit(f"{where}: unit {unit!r} does not fit field {name!r}")
        for item in table.get("expect", []):
            if item.split(":")[0] not in SEVERITIES or len(item.split(":")) not in (2, 3):
                raise SystemExit(f"{where}: expect item {item!r} is not severity:field[:check]")
        if table["file"] in files or values.get("project_id") in ids:
            raise SystemExit(f"{where}: file name or project_id used twice")
        files.add(table["file"])
        ids.add(values.get("project_id"))
        samples.append(Sample(table["file"], table["lang"], table["note"],
                              list(table.get("expect", [])), values, units, yearly))
    return samples


def write_samples(samples: list[Sample]) -> None:
    for sample in samples:
        write_template(HERE / sample.file, sample.lang, values=sample.values,
                       yearly=sample.yearly, units=sample.units)


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
GREEN = {"guizhou": (0.50, 0.75), "sichuan": (0.60, 0.85), "yunnan": (0.70, 0.90),
         "qinghai": (0.70, 0.90), "inner_mongolia": (0.40, 0.80), "ningxia": (0.40, 0.85),
         "gansu": (0.40, 0.80), "xinjiang": (0.30, 0.60), "chongqing": (0.25, 0.45),
         "hubei": (0.25, 0.45), "guangxi": (0.20, 0.40)}
GREEN_ZHANGJIAKOU = (0.30, 0.60)
GREEN_DEFAULT = (0.05, 0.35)
COLD = {"inner_mongolia", "ningxia", "gansu", "xinjiang", "qinghai", "liaoning", "shanxi"}
MILD_HYDRO = {"guizhou", "yunnan", "sichuan"}
TYPES = [("general", 55), ("intelligent_computing", 25), ("edge", 16), ("supercomputing", 4)]
KINDS = {"general": [("new", 36), ("expansion", 14), ("retrofit", 12), ("operating", 38)],
         "intelligent_computing": [("new", 55), ("expansion", 15), ("operating", 30)],
         "supercomputing": [("new", 30), ("expansion", 40), ("operating", 30)],
         "edge": [("new", 50), ("operating", 50)]}
RACKS = {"general": (2000, 24000), "intelligent_computing": (2000, 16000),
         "supercomputing": (1200, 6000), "edge": (10, 95)}
COST_PER_MW = {"general": (8.0, 11.0), "intelligent_computing": (10.0, 12.0),
               "supercomputing": (10.0, 12.0), "edge": (11.0, 14.0)}
NAME_ZH = {"general": ["云计算数据中心", "数据中心一期", "大数据产业园数据中心", "云数据中心二期"],
           "intelligent_computing": ["智算中心", "人工智能计算中心", "智算中心一期"],
           "supercomputing": ["超算中心", "超级计算中心"],
           "edge": ["边缘计算节点", "5G MEC边缘机房", "边缘数据中心"]}
NAME_EN = {"general": "Cloud Data Centre", "intelligent_computing": "AI Computing Centre",
           "supercomputing": "Supercomputing Centre", "edge": "Edge Node"}
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
      4 %. Edge sites go only to sites outside the clusters (they serve cities).
    * Project kind by type (``KINDS``): new builds, expansions, retrofits (general data centres
      only) and operating assets. Financing purpose: construction for new builds and
      expansions, retrofit for retrofits; operating assets refinance (55 %), are acquired
      (20 %) or, when at least 40 MW and operating since 2021 or earlier, go for a REIT (25 %).
    * Scale: standard racks uniform in ``RACKS`` (edge 10-95); IT load = racks x 2.5 kW
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
      revenue ~20 % of investment a year (edge ~30 %), ramping 55 % -> 100 % over 3 years and
      pro rata in the first year; EBITDA margin 38-50 % (10 points less in the first year);
      operating cash flow 80-95 % of EBITDA.
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
        racks = rng.randint(low, high)
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
        it_energy = round(load_mw * 8760 * load_factor, 1)
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
        wue = (rng.uniform(0.0, 0.3) if facility == "edge" else
               rng.uniform(0.2, 0.8) if province in COLD else rng.uniform(0.8, 1.8))
        green = GREEN_ZHANGJIAKOU if cluster == "zhangjiakou" else GREEN.get(province,
                                                                            GREEN_DEFAULT)
        green_share = round(rng.uniform(*green), 2)
        build_cost = load_mw * rng.uniform(*COST_PER_MW[facility]) * 1e6
        if facility == "edge":
            build_cost += rng.uniform(0.3, 1.0) * 1e6
        land = 0.0 if facility == "edge" else build_cost * rng.uniform(0.03, 0.10)
        value_base = build_cost + land
        investment = value_base if project_kind != "retrofit" else \
            load_mw * rng.uniform(1.5, 3.0) * 1e6
        if project_kind == "operating":
            if load_mw >= 40 and rng.random() < 0.45:
                purpose = "reit"
            else:
                purpose = "acquisition" if rng.random() < 0.25 else "refinancing"
        else:
            purpose = {"new": "construction", "expansion": "construction",
                       "retrofit": "retrofit"}[project_kind]
        started = None
        if existing:
            started = _date(rng, 2010, 2016) if project_kind == "retrofit" else \
                _date(rng, 2015, 2023)
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
            for year in YEARS:
                if year < started.year:
                    continue
                age = year - started.year
                ramp = min(1.0, 0.55 + 0.15 * age)
                share = (12 - started.month + 1) / 12 if age == 0 else 1.0
                revenue[year] = round(stable * ramp * share, -4)
                ebitda[year] = round(revenue[year] * (margin - (0.10 if age == 0 else 0)), -4)
                ocf[year] = round(ebitda[year] * rng.uniform(0.80, 0.95), -4)
        appraised = None
        if purpose == "reit":
            appraised = round(ebitda[2024] / rng.uniform(0.065, 0.08), -6)
        elif purpose == "acquisition":
            appraised = round(investment * rng.uniform(1.0, 1.3), -6)
        use_en = rng.random() < 0.15
        name = (f"{city_en} {NAME_EN[facility]}" if use_en else
                f"{city}{rng.choice(NAME_ZH[facility])}")
        if project_kind == "retrofit":
            name = f"{city_en} Data Centre Energy Retrofit" if use_en else f"{city}数据中心节能改造"
        sponsor = f"{city}{rng.choice(SPONSOR_MID)}{rng.choice(SPONSOR_END)}"
        rows.append(Candidate(
            f"CL-{number:04d}", name, sponsor, province, city, hub, cluster, facility,
            project_kind, purpose, racks, it_load_kw, utilisation, compute,
            None if measured is None else round(measured, 2), round(design, 2), round(wue, 2),
            it_energy, green_share, investment, equity, loan, tenor, started, appraised,
            revenue, ebitda, ocf))
    return rows


# Column header -> how to show a candidate's value in the unit of the header.
def _yi(value: float | None) -> float | None:
    return None if value is None else round(value / 1e8, 4)


CANDIDATE_COLUMNS = [
    ("项目编号", lambda c: c.project_id),
    ("Project name", lambda c: c.name),
    ("发起人", lambda c: c.sponsor),
    ("省份", lambda c: c.province),
    ("City", lambda c: c.city),
    ("Hub", lambda c: c.hub),
    ("集群", lambda c: c.cluster),
    ("设施类型", lambda c: c.facility_type),
    ("Project kind", lambda c: c.project_kind),
    ("融资用途", lambda c: c.financing_purpose),
    ("Racks", lambda c: c.racks),
    ("IT load (kW)", lambda c: c.it_load_kw),
    ("上架率(%)", lambda c: None if c.utilisation is None else round(c.utilisation * 100, 1)),
    ("算力(PFLOPS)", lambda c: c.compute_pflops),
    ("PUE", lambda c: c.pue),
    ("设计PUE", lambda c: c.pue_design),
    ("WUE (L/kWh)", lambda c: c.wue),
    ("IT年用电量（万千瓦时）", lambda c: round(c.it_energy_mwh / 10, 1)),
    ("Green power share", lambda c: c.green_share),
    ("Total investment (亿元)", lambda c: _yi(c.investment)),
    ("资本金(万元)", lambda c: round(c.equity / 1e4)),
    ("Loan amount (CNY million)", lambda c: None if c.loan is None else round(c.loan / 1e6, 2)),
    ("贷款期限(年)", lambda c: c.tenor),
    ("投运日期", lambda c: c.operating_since),
    ("Appraised value (亿元)", lambda c: None if c.appraised is None else round(c.appraised / 1e8,
                                                                               2)),
    *[(f"revenue_cny_{y}", lambda c, y=y: c.revenue.get(y)) for y in YEARS],
    *[(f"ebitda_cny_{y} (万元)", lambda c, y=y: None if y not in c.ebitda
       else round(c.ebitda[y] / 1e4, 1)) for y in YEARS[1:]],
    *[(f"operating_cash_flow_cny_{y}", lambda c, y=y: c.ocf.get(y)) for y in YEARS],
]

# How choice codes are shown: mostly the Chinese label, sometimes an English label or alias.
SHOWN = {
    "hub": {"yangtze_river_delta": ["长三角", "长三角", "YRD"],
            "greater_bay_area": ["粤港澳大湾区", "大湾区", "Greater Bay Area"],
            "beijing_tianjin_hebei": ["京津冀", "京津冀", "Beijing-Tianjin-Hebei"],
            "chengdu_chongqing": ["成渝", "成渝枢纽", "Chengdu-Chongqing"],
            "inner_mongolia": ["内蒙古", "内蒙古枢纽", "Inner Mongolia"],
            "guizhou": ["贵州", "贵州枢纽", "Guizhou hub"], "gansu": ["甘肃", "甘肃枢纽", "Gansu"],
            "ningxia": ["宁夏", "宁夏枢纽", "Ningxia"], "none": ["无", "非枢纽", "无"]},
    "facility_type": {"general": ["通用数据中心", "数据中心", "IDC"],
                      "intelligent_computing": ["智算中心", "智算中心", "AI centre"],
                      "supercomputing": ["超算中心", "超算中心", "HPC"],
                      "edge": ["边缘数据中心", "边缘节点", "Edge"]},
}


@dataclass
class Planted:
    """A cell made wrong on purpose, and the problem the reader must report for it."""

    row: int
    field: str
    severity: str
    check: str = ""


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


def candidate_cells(candidates: list[Candidate], seed: int = 2025
                    ) -> tuple[list[str], list[list[object]]]:
    """The header and the cells of each candidate, before the planted messiness."""
    rng = random.Random(seed + 1)
    header = [title for title, _ in CANDIDATE_COLUMNS]
    rows = []
    for candidate in candidates:
        cells = [get(candidate) for _, get in CANDIDATE_COLUMNS]
        for set_name, column in (("province", "省份"), ("hub", "Hub"), ("cluster", "集群"),
                                 ("facility_type", "设施类型"), ("project_kind", "Project kind"),
                                 ("financing_purpose", "融资用途")):
            index = header.index(column)
            cells[index] = _label(set_name, cells[index], rng)
        rows.append(cells)
    return header, rows


def plant_messy_cells(header: list[str], rows: list[list[object]], candidates: list[Candidate]
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
    follows the seeded data. Returns the rows (None = the blank row) and the planted errors.
    """
    col = {title: header.index(title) for title in header}
    used: set[int] = set()

    def first(after: int, test) -> int:
        for index in range(after, len(candidates)):
            if index not in used and test(candidates[index]):
                used.add(index)
                return index
        raise SystemExit("no candidate fits a planted cell; change the rule")

    i = first(5, lambda c: 1000 <= c.racks < 10000 and c.facility_type != "edge")
    rows[i][col["Racks"]] = f"{candidates[i].racks:,}"
    i = first(12, lambda c: c.operating_since is not None)
    rows[i][col["投运日期"]] = f"{candidates[i].operating_since.year}年{candidates[i].operating_since.month}月"
    i = first(20, lambda c: c.utilisation is not None)
    rows[i][col["上架率(%)"]] = f"{round(candidates[i].utilisation * 100)}%"
    i = first(30, lambda c: True)
    rows[i][col["Green power share"]] = f"{round(candidates[i].green_share * 100)}%"
    i = first(40, lambda c: c.investment >= 1e8)
    rows[i][col["Total investment (亿元)"]] = f"{round(candidates[i].investment / 1e8, 2)}亿"
    i = first(50, lambda c: c.pue is not None)
    rows[i][col["PUE"]] = _full_width(f"{candidates[i].pue:.2f}")
    i = first(60, lambda c: c.facility_type != "edge")
    rows[i][col["Racks"]] = _full_width(str(candidates[i].racks))
    for after in (70, 150):
        i = first(after, lambda c: c.appraised is None and c.project_kind == "new")
        rows[i][col["Appraised value (亿元)"]] = "—"
    i = first(80, lambda c: c.pue is None)
    rows[i][col["PUE"]] = "N/A"

    planted = []
    i = first(90, lambda c: c.project_kind == "retrofit")
    rows[i][col["PUE"]] = 4.2                       # meant 1.42
    planted.append(Planted(i, "pue", "error"))
    i = first(130, lambda c: c.facility_type == "general")
    rows[i][col["IT load (kW)"]] = "unknown"
    planted.append(Planted(i, "it_load_mw", "error"))
    i = first(170, lambda c: c.utilisation is not None)
    rows[i][col["上架率(%)"]] = 128.0               # meant 82.8
    planted.append(Planted(i, "rack_utilisation", "error"))

    blank_after = 105
    out: list[list[object] | None] = [*rows[:blank_after], None, *rows[blank_after:]]
    for item in planted:
        item.row = item.row + (1 if item.row >= blank_after else 0)
    return out, planted


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
        sheet.column_dimensions[sheet.cell(header_row, index).column_letter].width = \
            max(10, min(28, len(title) + 4))
    for item in planted:
        item.row = header_row + 1 + item.row
    book.properties.creator = "sample_projects/build.py"
    book.properties.created = dt.datetime(2025, 6, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return planted


# ============================================================================================
# The edge-site CSV (GBK)
# ============================================================================================
EDGE_HEADER = ["项目编号", "项目名称", "建设单位", "省份", "城市", "枢纽节点", "集群", "设施类型",
               "项目性质", "融资用途", "机架数", "IT负载(kW)", "上架率(%)", "年均PUE", "设计PUE",
               "绿电占比(%)", "IT年用电量(万千瓦时)", "总投资(万元)", "资本金(万元)",
               "申请贷款金额(万元)", "贷款期限(年)", "投运日期"]
EDGE_CITIES = [("广东", "深圳", "粤港澳大湾区"), ("广东", "东莞", "大湾区"), ("上海", "上海", "长三角"),
               ("江苏", "苏州", "长三角"), ("浙江", "宁波", "长三角"), ("北京", "北京", "京津冀"),
               ("天津", "天津", "京津冀"), ("四川", "成都", "成渝"), ("湖北", "武汉", "无"),
               ("湖南", "长沙", "无"), ("山东", "济南", "非枢纽"), ("河南", "郑州", "无"),
               ("福建", "厦门", "无"), ("陕西", "西安", "无")]
EDGE_NAMES = ["5G MEC边缘机房", "边缘计算节点", "工业互联网边缘节点", "车路协同边缘计算站",
              "智慧园区边缘数据中心"]


def edge_site_rows(count: int = 20, seed: int = 2026) -> list[list[object]]:
    """20 edge sites: 8-90 standard racks in cities, IT load racks x 2.5 kW, design PUE
    1.30-1.45, investment CNY 12-15 m per MW plus CNY 0.3-1.0 m fit-out (in 万元), half of them
    operating since 2021-2024 with a measured PUE 0-8 % above design."""
    rng = random.Random(seed)
    rows = []
    for number in range(1, count + 1):
        province, city, hub = rng.choice(EDGE_CITIES)
        racks = rng.randint(8, 90)
        load_kw = round(racks * 2.5 * rng.uniform(0.95, 1.05))
        operating = rng.random() < 0.5
        design = round(rng.uniform(1.30, 1.45), 2)
        measured = round(design * rng.uniform(1.0, 1.08), 2) if operating else ""
        utilisation = round(rng.uniform(50, 92), 1) if operating else ""
        energy = round(load_kw / 1000 * 8760 * rng.uniform(0.5, 0.75) / 10, 2)
        investment = round(load_kw / 1000 * rng.uniform(12, 15) * 100 + rng.uniform(30, 100))
        equity = round(investment * rng.uniform(0.25, 0.40))
        loan = round((investment - equity) * rng.uniform(0.6, 0.95))
        since = _date(rng, 2021, 2024).isoformat() if operating else ""
        rows.append([f"ES-{number:03d}", f"{city}{rng.choice(EDGE_NAMES)}",
                     f"{city}{rng.choice(['边缘', '智联', '数联'])}网络科技有限公司", province, city,
                     hub, rng.choice(["无", "非集群"]), rng.choice(["边缘数据中心", "边缘节点",
                                                                 "边缘计算中心"]),
                     "已运营" if operating else "新建", "再融资" if operating else "建设",
                     racks, load_kw, utilisation, measured, design,
                     round(rng.uniform(5, 30)), energy, investment, equity, loan,
                     rng.randint(3, 6), since])
    return rows


def write_edge_csv(path: Path = EDGE_CSV) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="gbk", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EDGE_HEADER)
        writer.writerows(edge_site_rows())


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
    lines = [README_START, "",
             "| File | Project | Lang | What it shows | Problems the reader reports |",
             "| --- | --- | --- | --- | --- |"]
    for sample in samples:
        name = sample.values.get("project_name", "*(blank)*")
        lines.append(f"| `{sample.file}` | {sample.values.get('project_id', '')} {name} | "
                     f"{sample.lang} | {sample.note} | {_expect_text(sample.expect)} |")
    lines += ["", README_END]
    text = README.read_text(encoding="utf-8")
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    README.write_text(text[:start] + "\n".join(lines) + text[end:], encoding="utf-8")


# ============================================================================================
# --check
# ============================================================================================
def _kind(problem: dict) -> tuple[str, str, str]:
    """(severity-or-'missing', field, check id) of one problem row."""
    check = problem["hint"][len("check "):] if problem["hint"].startswith("check ") else ""
    severity = problem["severity"]
    if severity == "warning" and (problem.get("message") == "missing" or
                                  problem["expected"].startswith("a value (needed for")):
        severity = "missing"
    return severity, problem["field"], check


def _matches(item: str, kind: tuple[str, str, str]) -> bool:
    severity, name, *check = item.split(":")
    return (severity, name, check[0] if check else "") == kind


def _brief(row: dict) -> str:
    return " | ".join(f"{row.get(k, '')}" for k in ("sheet", "cell", "field", "year", "value",
                                                    "message", "expected", "severity", "hint"))


def _row_number(cell: str) -> int | str:
    """Excel row of a list cell ("L123" or "row 123")."""
    digits = cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ").removeprefix("row ").strip()
    return int(digits) if digits.isdigit() else cell


def check(samples: list[Sample], planted: list[Planted]) -> int:
    import pandas as pd

    from assessment import read_applications

    projects, yearly, problems = read_applications([HERE], as_of=AS_OF)
    rows = problems.to_dict("records")
    by_file: dict[str, list[dict]] = {}
    for row in rows:
        by_file.setdefault(Path(row["file"]).name, []).append(row)
    failures = 0
    with pd.option_context("display.width", 250, "display.max_colwidth", 70,
                           "display.max_rows", 200):
        for sample in samples:
            found = by_file.pop(sample.file, [])
            pid = sample.values.get("project_id")
            if pid not in projects.index:
                print(f"FAIL {sample.file}: {pid} not in projects")
                failures += 1
            unexpected = [r for r in found if not any(_matches(i, _kind(r)) for i in sample.expect)]
            absent = [i for i in sample.expect if not any(_matches(i, _kind(r)) for r in found)]
            status = "ok  " if not unexpected and not absent else "FAIL"
            failures += status == "FAIL"
            print(f"{status} {sample.file}: {len(found)} problems "
                  f"({sum(r['severity'] == 'error' for r in found)} errors)")
            for row in unexpected:
                print(f"     unexpected: {_brief(row)}")
            for item in absent:
                print(f"     missing expected problem: {item}")
        for name, want_rows in ((CANDIDATE_XLSX.name, planted), (EDGE_CSV.name, [])):
            found = by_file.pop(name, [])
            ids = projects[projects["source_file"].map(lambda f: Path(f).name) == name]
            want = {(p.row, p.field, p.severity) for p in want_rows}
            got = {(_row_number(r["cell"]), r["field"], _kind(r)[0]) for r in found}
            # a programme field left blank is expected in a screening list; only the planted
            # ones are compared
            got = {key for key in got if key[2] != "missing" or key in want}
            status = "ok  " if got == want else "FAIL"
            failures += status == "FAIL"
            missing_by_field = Counter(r["field"] for r in found if _kind(r)[0] == "missing")
            print(f"{status} {name}: {len(ids)} projects, {len(found)} problems "
                  f"({sum(r['severity'] == 'error' for r in found)} errors); "
                  f"programme fields not in the list: {dict(sorted(missing_by_field.items()))}")
            for key in sorted(got - want, key=str):
                print(f"     unexpected: {key}")
            for key in sorted(want - got, key=str):
                print(f"     missing expected problem: {key}")
        for name, found in by_file.items():
            failures += 1
            print(f"FAIL {name}: not a known sample, {len(found)} problems")
        planted_rows = problems[problems["file"].map(lambda f: Path(f).name) ==
                                CANDIDATE_XLSX.name]
        print("\nCandidate-list errors and range warnings as the reader reports them:")
        print(planted_rows[~planted_rows["expected"].str.startswith("a value (needed")]
              .to_string(index=False))
    print(f"\n{len(projects)} projects, {len(yearly)} yearly values, {len(problems)} problems; "
          f"{failures} check(s) failed")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="read the output back and compare the problems with the sources")
    args = parser.parse_args(argv)
    samples = load_samples()
    write_samples(samples)
    planted = write_candidate_list()
    write_edge_csv()
    update_readme(samples)
    print(f"wrote {len(samples)} workbooks, {CANDIDATE_XLSX.relative_to(ROOT)} and "
          f"{EDGE_CSV.relative_to(ROOT)}")
    return check(samples, planted) if args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
