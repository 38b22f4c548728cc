"""Alembic's environment: migrate the engine handed over in the configuration's attributes."""

from __future__ import annotations

from alembic import context

from assessment.service.register import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata)
    context.run_migrations()
