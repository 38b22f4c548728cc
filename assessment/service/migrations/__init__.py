"""The register's schema, as Alembic migrations (``versions/``), applied on open:
:func:`upgrade` brings a database, new or old, to the newest revision."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

HERE = Path(__file__).parent


def config(engine: Engine) -> Config:
    """An Alembic configuration for ``engine`` (no alembic.ini: everything is set here)."""
    found = Config()
    found.set_main_option("script_location", str(HERE))
    found.attributes["engine"] = engine
    return found


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(config(engine), revision)
