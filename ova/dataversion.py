"""The data version of layers: bumped in the transaction that changes the rows they serve."""
from __future__ import annotations

from sqlalchemy import func, text, update

from ova.models import Layer
from ova.sqlnames import split_name


def touch(conn, table_name: str) -> int:
    """Bump data_version and last_update of every layer over ``table_name``; return how many.

    Call it in the same transaction as the data change, so caches keyed by data_version
    (tiles, ETags) are invalidated exactly when the new data becomes visible.
    """
    schema, name = split_name(table_name)
    names = {f"{schema}.{name}"} | ({name} if schema == "public" else set())
    # A layer may serve a view over the table (``public_incidents`` over ``incidents``): its rows change too.
    for view_schema, view in conn.execute(text(
            "SELECT DISTINCT vn.nspname, v.relname FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid "
            "JOIN pg_class v ON v.oid = r.ev_class JOIN pg_namespace vn ON vn.oid = v.relnamespace "
            "JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace "
            "WHERE tn.nspname = :s AND t.relname = :t AND v.oid <> t.oid AND v.relkind IN ('v', 'm')"),
            {"s": schema, "t": name}):
        names |= {f"{view_schema}.{view}"} | ({view} if view_schema == "public" else set())
    result = conn.execute(
        update(Layer).where(Layer.source_table.in_(names))
        .values(data_version=Layer.data_version + 1, last_update=func.now())
    )
    return result.rowcount
