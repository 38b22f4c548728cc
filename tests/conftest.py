"""Fixtures and hooks: the packaged dictionary, the golden-file flag, the ``slow`` marker.
Plain helpers live in ``helpers.py``."""

from __future__ import annotations

import helpers  # noqa: F401  (pins BLAS/OpenMP threads before any library loads)
import pytest

from assessment import load_dictionary


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: runs a subprocess or a Dask cluster (left out unless --slow is given)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ``--slow`` (or a ``-m`` expression of one's own), the tests marked ``slow`` are
    deselected: the quick run for a change. README's command and ``.ci/run`` give ``--slow``."""
    if config.getoption("--slow") or config.getoption("markexpr"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow",
        action="store_true",
        help="also run the tests marked slow (subprocesses, signals, a Dask cluster): the whole "
        "suite, as README's second command and .ci/run do",
    )
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


POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"  # the test machines' server


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)],
)
def url(request, tmp_path_factory):
    """A register's URL: a new SQLite file, then a schema of its own on the PostgreSQL server
    of the test machines (a missing server fails the tests, it does not skip them), dropped
    afterwards. A module using it runs on both; the PostgreSQL half with ``--slow`` (as
    ``.ci/run`` and README's command run the suite), the quick run on SQLite."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('register') / 'register.sqlite'}"
        return
    import uuid

    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f"create schema {schema}"))
    yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f"drop schema {schema} cascade"))
    admin.dispose()


@pytest.fixture(scope="module")
def engine(url):
    """The register at ``url``, migrated."""
    from assessment.service import register

    found = register.open_register(url)
    yield found
    found.dispose()
