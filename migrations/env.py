"""Alembic environment: the URL comes from ova.migrate (or DATABASE_URL), metadata from ova.models."""
from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

from ova.db import normalise_url
from ova.models import Base
from ova.settings import database_url

config = context.config
url = config.attributes.get("database_url") or database_url()


def run_migrations_online() -> None:
    engine = create_engine(normalise_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=alembic_helpers.include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
