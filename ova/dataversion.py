"""The data version of layers: bumped in the transaction that changes the rows they serve."""
from __future__ import annotations

from sqlalchemy import func, update

from ova.models import Layer
from ova.sqlnames import split_name


def touch(conn, table_name: str) -> int:
    """Bump data_version and last_update of every layer over ``table_name``; return how many.

    Call it in the same transaction as the data change, so caches keyed by data_version
    (tiles, ETags) are invalidated exactly when the new data becomes visible.
    """
    schema, name = split_name(table_name)
    names = {f"{schema}.{name}"} | ({name} if schema == "public" else set())
    result = conn.execute(
        update(Layer).where(Layer.source_table.in_(names))
        .values(data_version=Layer.data_version + 1, last_update=func.now())
    )
    return result.rowcount
