"""Source registry: any table or view with an ``id`` and a ``geom`` (in the storage SRID) can be a layer.

Column names are read from the database catalogue and whitelisted: SQL identifiers are only ever
built from names the catalogue returned, quoted, never from a user string.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import text

from ova.errors import InvalidInput, NotFound
from ova.settings import STORAGE_SRID, storage_srid
from ova.sqlnames import quote_ident, split_name

#: Columns preferred, in order, as the temporal dimension of a layer (``datetime`` queries).
TEMPORAL_PREFERENCE = ("reported_at", "valid_from", "notified_on", "created_on", "updated_at",
                       "loaded_at", "created_at")
TEMPORAL_TYPES = {"timestamp with time zone", "timestamp without time zone", "date"}
NUMERIC_TYPES = {"integer", "bigint", "smallint", "numeric", "double precision", "real"}
#: Never exposed through the API (internal bookkeeping).
HIDDEN_COLUMNS = {"geom"}

#: Property columns served: plain identifiers only (a column named otherwise is not exposed).
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Source:
    """A table or view described from the catalogue: its columns and their types."""

    schema: str
    name: str
    columns: dict[str, str]  # property column -> data type (without id and geom)
    id_type: str
    geometry_type: str | None = None
    temporal: str | None = None
    srid: int = STORAGE_SRID  # the default; describe() reads the column's
    filters: dict = field(default_factory=dict)

    @property
    def qualified(self) -> str:
        """The quoted, schema-qualified name (safe: both parts come from the catalogue)."""
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"

    def column(self, name: str) -> str:
        """Return ``name`` quoted if it is a property column of the source, else raise."""
        if name == "id":
            return quote_ident("id")
        if name not in self.columns:
            raise InvalidInput(f"unknown property '{name}'")
        return quote_ident(name)

    def where_filters(self, prefix: str = "f") -> tuple[list[str], dict]:
        """SQL conditions and parameters of the layer's fixed equality filters."""
        clauses, params = [], {}
        for i, (key, value) in enumerate(sorted(self.filters.items())):
            clauses.append(f"{self.column(key)}::text = :{prefix}{i}")
            params[f"{prefix}{i}"] = str(value)
        return clauses, params


def describe(conn, table: str, filters: dict | None = None) -> Source:
    """Describe ``table`` (``[schema.]name``) from the catalogue; raise if it cannot be a layer."""
    schema, name = split_name(table)
    rows = conn.execute(
        text(
            "SELECT column_name, data_type, udt_name FROM information_schema.columns "
            "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"
        ),
        {"s": schema, "t": name},
    ).all()
    if not rows:
        raise NotFound(f"no table or view named {schema}.{name}")
    types = {r.column_name: (r.data_type if r.data_type != "USER-DEFINED" else r.udt_name) for r in rows}
    if "id" not in types or "geom" not in types:
        raise InvalidInput(f"{schema}.{name} needs an 'id' and a 'geom' column to be a layer")
    if types["id"] not in {"integer", "bigint", "smallint", "text", "character varying"}:
        raise InvalidInput(f"{schema}.{name}.id must be an integer or a text")
    geo = conn.execute(
        text("SELECT type, srid FROM geometry_columns WHERE f_table_schema = :s AND f_table_name = :t "
             "AND f_geometry_column = 'geom'"),
        {"s": schema, "t": name},
    ).first()
    columns = {k: v for k, v in types.items() if k not in HIDDEN_COLUMNS and k != "id" and _COLUMN.match(k)}
    temporal = next((c for c in TEMPORAL_PREFERENCE if types.get(c) in TEMPORAL_TYPES), None)
    if temporal is None:
        temporal = next((c for c, t in columns.items() if t in TEMPORAL_TYPES), None)
    source = Source(schema=schema, name=name, columns=columns, id_type=types["id"],
                    geometry_type=geo.type if geo else None, temporal=temporal,
                    srid=(geo.srid or storage_srid()) if geo else storage_srid(), filters=dict(filters or {}))
    for key in source.filters:
        source.column(key)  # whitelist the layer's own filters too
    return source
