"""Alembic environment: the URL from the caller (tests, CLI) or $DATABASE_URL."""

from __future__ import annotations

from alembic import context

from app.config import Config
from app.db import make_engine
from app.models import Base

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    """The URL handed over by app.cli.alembic_config, else the environment's."""
    return config.attributes.get("database_url") or Config().DATABASE_URL


def run_migrations_offline() -> None:
    """Emit SQL without a connection."""
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate over a connection (batch mode so SQLite can alter tables)."""
    engine = make_engine(database_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
