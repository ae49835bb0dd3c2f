"""Create the database named in a URL (if missing) and the PostGIS extension in it.

Used by scripts/setup.sh when DATABASE_URL points at a server we do not administer locally.
"""
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ova.db import normalise_url


def main(url: str) -> None:
    target = make_url(normalise_url(url))
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
        if not exists:
            # Identifiers cannot be bound; quote it through the server.
            quoted = conn.scalar(text("SELECT quote_ident(:n)"), {"n": target.database})
            conn.execute(text(f"CREATE DATABASE {quoted}"))
    admin.dispose()
    engine = create_engine(target, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        try:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        except Exception as err:
            raise SystemExit(
                f"{target.database}: cannot create the postgis extension ({err.__class__.__name__}); "
                "ask a superuser to run CREATE EXTENSION postgis in it"
            ) from err
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
