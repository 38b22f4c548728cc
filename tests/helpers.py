"""What tests share: paths, the assessment date, small file writers, a complete test project
and the golden-file comparison. Imported as ``from helpers import ...`` (``tests/`` is on the
path); fixtures and hooks stay in ``conftest.py``."""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import os
import signal
import sys
from pathlib import Path

import openpyxl
import pytest

# One BLAS / OpenMP thread per process: the suite's timings stay steady on a two-core machine
# (gbm training takes 25-55 s with two OpenMP threads on two cores, 2.5 s with one).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

# Compiled modules are cached in __pycache__ even where PYTHONDONTWRITEBYTECODE is set (as on the
# CI machine): else each worker, and each `assess` a test starts, compiles the package and
# pytest rewrites every test module again (about 3 s a process).
sys.dont_write_bytecode = False

AS_OF = dt.date(2025, 6, 30)
ROOT = Path(__file__).resolve().parent.parent


def ctrl_c_heard() -> None:
    """For ``Popen(preexec_fn=...)``: the child hears SIGINT as from a terminal. A shell without
    job control starts background commands (``.ci/run &``) with SIGINT ignored, and Python
    then keeps it ignored: a Ctrl-C test would see the run finish instead."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def compare_golden(path: Path, text: str, update: bool, hint: str) -> None:
    """Compare ``text`` with the golden file (or rewrite it with ``--update-golden``); a
    difference fails with the first 60 lines of a unified diff."""
    if update:
        path.write_text(text, encoding="utf-8", newline="\n")
        return
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: {hint}"
    golden = path.read_text(encoding="utf-8")
    if text != golden:
        diff = difflib.unified_diff(
            golden.splitlines(), text.splitlines(), f"tests/golden/{path.name}", "now", lineterm=""
        )
        pytest.fail(
            f"{path.name} differs; if intended, {hint}:\n" + "\n".join(list(diff)[:60]),
            pytrace=False,
        )


def write_rows(path: Path, rows: list[list[object]], sheet: str = "Candidates") -> Path:
    """A plain workbook holding ``rows`` from A1 (a user's own spreadsheet)."""
    book = openpyxl.Workbook()
    book.active.title = sheet
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def write_list(path: Path, rows: list[dict[str, object]]) -> Path:
    """A CSV candidate list of ``rows``, headed by every key the rows use (in order)."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        writer.writerows(rows)
    return path


FULL_PROJECT = {
    "project_id": "T-001",
    "project_name": "Gui'an hydro DC",
    "sponsor": "NA",
    "province": "guizhou",
    "city": "Gui'an",
    "hub": "guizhou",
    "cluster": "guian",
    "facility_type": "general",
    "project_kind": "operating",
    "financing_purpose": "reit",
    "racks": 3000,
    "it_load_mw": 24.0,
    "rack_utilisation": 0.72,
    "compute_pflops": 15.5,
    "pue": 1.28,
    "pue_design": 1.25,
    "wue_l_per_kwh": 1.1,
    "it_energy_mwh": 150000.0,
    "green_power_share": 0.55,
    "refrigerant_gwp": 675.0,
    "waste_heat_reuse": False,
    "total_investment_cny": 2.4e9,
    "equity_cny": 8.0e8,
    "loan_amount_cny": 1.5e9,
    "loan_tenor_years": 12.0,
    "contracted_revenue_share": 0.8,
    "top_tenant_share": 0.45,
    "wale_years": 6.5,
    "appraised_value_cny": 2.9e9,
    "fx_usd_cny": 7.1,
    "operating_since": "2019-06-30",
    "asset_rights": "ownership",
    "title_clear": True,
    "land_use_compliant": True,
    "transferable": True,
    "approvals_complete": True,
    "major_violations_3y": False,
    "glp_use_of_proceeds": True,
    "glp_evaluation_process": True,
    "glp_proceeds_management": False,
    "fund_irr": 0.065,
    "reinvestment_share": 0.9,
    "glp_reporting": True,
}
FULL_YEARLY = {
    "revenue_cny": {2021: 3.0e8, 2022: 3.3e8, 2023: 3.5e8, 2024: 3.6e8},
    "ebitda_cny": {2021: 1.5e8, 2022: 1.7e8, 2023: 1.8e8, 2024: 1.9e8},
    "operating_cash_flow_cny": {2021: 1.2e8, 2022: -1.0e7, 2023: 1.3e8, 2024: 1.4e8},
    "debt_service_cny": {2021: 9.0e7, 2022: 9.0e7, 2023: 9.5e7, 2024: 9.5e7},
    "distributable_cash_cny": {2025: 1.1e8, 2026: 1.15e8, 2027: 1.2e8},
}


# The loan of a sound application (CNY 700 m of a CNY 1 bn project over 12 years at 4 %, 80 %
# contracted revenue): the rows the tests build start from it and change what they are about.
SOUND_LOAN = {
    "total_investment_cny": 1_000_000_000,
    "equity_cny": 300_000_000,
    "loan_amount_cny": 700_000_000,
    "loan_tenor_years": 12,
    "loan_interest_rate": 0.04,
    "contracted_revenue_share": 0.8,
    "top_tenant_share": 0.3,
    "wale_years": 10,
}
