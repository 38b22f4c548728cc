"""Fixtures and hooks: the packaged dictionary, the golden-file flag, the ``slow`` marker.
Plain helpers live in ``helpers.py``."""

from __future__ import annotations

import helpers  # noqa: F401  (pins BLAS/OpenMP threads before any library loads)
import pytest

from assessment import load_dictionary


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: runs a subprocess or a Dask cluster (run by .ci/run; -m 'not slow')"
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the golden files in tests/golden/ instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def dictionary():
    return load_dictionary()
