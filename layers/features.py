"""Feature queries of a layer: parameters parsed and checked, GeoJSON built in PostGIS (no Flask)."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

from sqlalchemy import text

from layers.sources import Source
from ova.errors import InvalidInput, NotFound
from ova.settings import storage_srid
from ova.sqlnames import quote_ident
from ova.territory import clip_box

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@dataclass(frozen=True)
class Crs:
    """A CRS the API serves: its URI, SRID, whether axes are latitude first, and precision."""

    uri: str
    srid: int
    lat_first: bool
    decimals: int


#: CRS registry: the CRSs the API serves, the storage CRS (``OVA_STORAGE_CRS``) third; see :func:`served_crs`.
_WEB = (
    Crs(CRS84, 4326, False, 7),
    Crs("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, True, 7),
)
_MERCATOR = Crs("http://www.opengis.net/def/crs/EPSG/0/3857", 3857, False, 2)


def epsg_uri(srid: int) -> str:
    return f"http://www.opengis.net/def/crs/EPSG/0/{int(srid)}"


def served_crs() -> tuple[Crs, ...]:
    """The CRSs the API serves: CRS84, EPSG:4326 (latitude first), the storage CRS, Web Mercator."""
    return _served(storage_srid())


@lru_cache(maxsize=8)
def _served(srid: int) -> tuple[Crs, ...]:
    return _WEB + (Crs(epsg_uri(srid), srid, False, 2),) + ((_MERCATOR,) if srid != 3857 else ())


@lru_cache(maxsize=8)
def _by_name(srid: int) -> dict[str, Crs]:
    served = _served(srid)
    names = {c.uri: c for c in served}
    names.update({"CRS84": served[0], "OGC:CRS84": served[0], "EPSG:4326": served[1], f"EPSG:{srid}": served[2],
                  "EPSG:3857": _MERCATOR})
    return names


#: CRS84, the default of every request (and of downloads).
CRS_BY_URI = {CRS84: _WEB[0]}

DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
#: numberMatched is given only when counting stops below this many rows (and never for bbox).
COUNT_CAP = 100_000
#: Query parameters with a meaning of their own (never property filters).
RESERVED = {"f", "lang", "api_key", "bbox", "bbox-crs", "datetime", "limit", "offset", "after", "sortby", "crs"}
#: Id types a keyset cursor (``after``) applies to.
INTEGER_IDS = ("integer", "bigint", "smallint")


def crs_from(value: str | None, name: str = "crs") -> Crs:
    """The served CRS named by ``value`` (URI or EPSG:xxxx/CRS84), CRS84 by default."""
    if not value:
        return CRS_BY_URI[CRS84]
    names = _by_name(storage_srid())
    try:
        return names[value.strip()]
    except KeyError:
        supported = ", ".join(c.uri for c in served_crs())
        raise InvalidInput(f"{name}: unsupported CRS '{value}' (supported: {supported})") from None


@dataclass
class ItemsQuery:
    """Checked parameters of an items request."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: Crs = field(default_factory=lambda: CRS_BY_URI[CRS84])
    crs: Crs = field(default_factory=lambda: CRS_BY_URI[CRS84])
    interval: tuple[dt.datetime | None, dt.datetime | None] | None = None
    properties: dict[str, str] = field(default_factory=dict)
    sortby: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    #: Keyset cursor: only features whose id is greater (default order only; see ``page_sql``).
    after: int | None = None

    def args(self, **changes) -> dict[str, str]:
        """The query string reproducing this query (for next/prev links), with ``changes``."""
        out: dict[str, str] = {"limit": str(self.limit), "offset": str(self.offset)}
        if self.after is not None:
            out["after"] = str(self.after)
        if self.bbox:
            out["bbox"] = ",".join(_num(v) for v in self.bbox)
            if self.bbox_crs.uri != CRS84:
                out["bbox-crs"] = self.bbox_crs.uri
        if self.crs.uri != CRS84:
            out["crs"] = self.crs.uri
        if self.interval:
            out["datetime"] = "/".join(v.isoformat() if v else ".." for v in self.interval)
        if self.sortby:
            out["sortby"] = ",".join(("-" if d else "+") + c for c, d in self.sortby)
        out.update(self.properties)
        out.update({k: str(v) for k, v in changes.items()})
        return out


def _num(v: float) -> str:
    return repr(v) if not float(v).is_integer() else str(int(v))


#: Largest integer parameter accepted (bigint), so an absurd offset is a 400, not a database error.
MAX_INT = 2 ** 63 - 1


def _int(args: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name}: '{raw}' is not an integer") from None
    if value < minimum:
        raise InvalidInput(f"{name}: must be at least {minimum}")
    if value > MAX_INT:  # PostgreSQL's LIMIT/OFFSET are bigint
        raise InvalidInput(f"{name}: must be at most {MAX_INT}")
    return value


def _instant(raw: str) -> dt.datetime | None:
    if raw in ("..", ""):
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"datetime: '{raw}' is not an RFC 3339 date-time or interval") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def parse_items(args: Mapping[str, str], source: Source) -> ItemsQuery:
    """Check the query parameters of an items request against ``source``'s columns."""
    query = ItemsQuery()
    query.limit = min(_int(args, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
    query.offset = _int(args, "offset", 0, 0)
    query.crs = crs_from(args.get("crs"))
    query.bbox_crs = crs_from(args.get("bbox-crs"), "bbox-crs")
    if args.get("bbox"):
        try:
            values = [float(v) for v in args["bbox"].split(",")]
        except ValueError:
            raise InvalidInput("bbox: expected 4 (or 6) comma-separated numbers") from None
        if len(values) == 6:
            values = values[0:2] + values[3:5]
        if len(values) != 4 or not all(math.isfinite(v) for v in values):
            raise InvalidInput("bbox: expected 4 (or 6) comma-separated numbers")
        if query.bbox_crs.lat_first:
            values = [values[1], values[0], values[3], values[2]]
        if values[1] > values[3]:
            raise InvalidInput("bbox: the lower corner is above the upper corner")
        query.bbox = tuple(values)
    if args.get("datetime"):
        parts = args["datetime"].split("/")
        if len(parts) == 1:
            instant = _instant(parts[0])
            if instant is None:
                raise InvalidInput("datetime: an instant cannot be '..'")
            query.interval = (instant, instant)
        elif len(parts) == 2:
            query.interval = (_instant(parts[0]), _instant(parts[1]))
        else:
            raise InvalidInput("datetime: expected an instant or an interval start/end")
    if args.get("sortby"):
        for item in args["sortby"].split(","):
            item = item.strip()
            desc = item.startswith("-")
            name = item.lstrip("+-").strip()
            source.column(name)
            query.sortby.append((name, desc))
    if args.get("after") not in (None, ""):
        if query.sortby or source.id_type not in INTEGER_IDS:
            raise InvalidInput("after: only with the default order of a collection with integer ids "
                               "(use offset with sortby)")
        query.after = _int(args, "after", 0, -MAX_INT)
    for key, value in args.items():
        if key in RESERVED:
            continue
        if key != "id" and key not in source.columns:
            raise InvalidInput(f"unknown query parameter '{key}'")
        query.properties[key] = value
    return query


def geometry_sql(source: Source, crs: Crs, alias: str = "t") -> str:
    """ST_AsGeoJSON of the geometry in ``crs`` (latitude first for EPSG:4326)."""
    geom = f"{alias}.geom"
    if crs.srid != source.srid:
        geom = f"ST_Transform({geom}, {int(crs.srid)})"
    if crs.lat_first:
        geom = f"ST_FlipCoordinates({geom})"
    return f"ST_AsGeoJSON({geom}, {int(crs.decimals)})::json"


def properties_sql(source: Source, alias: str = "t") -> str:
    """A jsonb object of the source's property columns (chunks: json_build_object takes 100 args)."""
    names = list(source.columns)
    if not names:
        return "'{}'::jsonb"
    chunks = []
    for i in range(0, len(names), 40):
        # names are plain identifiers (sources.describe), safe inside a literal
        pairs = ", ".join(f"'{n}', {alias}.{quote_ident(n)}" for n in names[i:i + 40])
        chunks.append(f"jsonb_build_object({pairs})")
    return " || ".join(chunks)


_FEATURE_SQL: dict[tuple, tuple[Source, str]] = {}


def feature_sql(source: Source, crs: Crs, alias: str = "t") -> str:
    """SQL of one GeoJSON Feature (text) per row of ``alias`` (cached per described source)."""
    key = (id(source), crs.uri, alias)
    hit = _FEATURE_SQL.get(key)
    if hit is not None and hit[0] is source:  # sources are cached per layer and data version
        return hit[1]
    sql = _feature_sql(source, crs, alias)
    if len(_FEATURE_SQL) > 1024:
        _FEATURE_SQL.clear()
    _FEATURE_SQL[key] = (source, sql)
    return sql


def _feature_sql(source: Source, crs: Crs, alias: str) -> str:
    return (f"json_build_object('type', 'Feature', 'id', {alias}.id, 'geometry', {geometry_sql(source, crs, alias)}, "
            f"'properties', {properties_sql(source, alias)})::text")


def where_sql(source: Source, query: ItemsQuery) -> tuple[str, dict]:
    """WHERE clause and parameters of ``query`` (the layer's filters included)."""
    clauses, params = source.where_filters()
    if query.bbox:
        bc = query.bbox_crs
        # Clipped to the territory's extent first: the storage CRS is undefined far from its area
        # of use (a world bbox failed with "Point outside of projection domain").
        box = clip_box(query.bbox, bc.srid)
        if box is None:
            clauses.append("FALSE")
            return " AND ".join(clauses), params
        env = f"ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, {int(bc.srid)})"
        if bc.srid != source.srid:
            env = f"ST_Transform(ST_Segmentize({env}, {0.01 if bc.srid == 4326 else 1000}), {int(source.srid)})"
        # ST_Intersects alone: its index support adds the && itself. Spelling out "geom && env" as
        # well made PostgreSQL count the bbox's selectivity twice (713 rows estimated for 26 000),
        # so it sorted every match instead of walking the primary key for an ordered page.
        clauses.append(f"ST_Intersects(t.geom, {env})")
        params.update(bx0=box[0], by0=box[1], bx1=box[2], by1=box[3])
    if query.interval and source.temporal:
        col = f"t.{quote_ident(source.temporal)}"
        start, end = query.interval
        if start is not None:
            clauses.append(f"{col} >= :t0")
            params["t0"] = start
        if end is not None:
            clauses.append(f"{col} <= :t1")
            params["t1"] = end
    for i, (key, value) in enumerate(sorted(query.properties.items())):
        clauses.append(f"t.{source.column(key)}::text = :p{i}")
        params[f"p{i}"] = value
    return (" AND ".join(clauses) or "TRUE"), params


def _sort_keys(query: ItemsQuery) -> list[tuple[str, bool]]:
    """The page's sort keys as (SQL expression, descending): ``sortby`` then the primary key."""
    return [(f"t.{quote_ident(c)}", d) for c, d in query.sortby] + [("t.id", False)]


def order_sql(query: ItemsQuery) -> str:
    """ORDER BY clause of ``query``: its sort keys then the primary key, so that pages are stable.

    Without ``sortby`` the order is the primary key's: offset pages never overlap nor skip a
    feature, even when rows are updated between two requests (physical order would change). For a
    bbox matching many rows PostgreSQL walks the primary key index and stops after the page; for a
    small bbox it sorts the few matches (see ``where_sql`` for why its estimate is right).
    """
    return "ORDER BY " + ", ".join(f"{e} {'DESC' if d else 'ASC'}" for e, d in _sort_keys(query))


@dataclass(frozen=True)
class Page:
    """One page of items: its Features as UTF-8 JSON (comma-separated), how many, numberMatched."""

    body: bytes
    returned: int
    matched: int | None
    #: Id of the page's last feature when the page is in the default order (the next page's
    #: keyset cursor), else None.
    last_id: int | None = None


def page_sql(source: Source, query: ItemsQuery) -> tuple[str, dict]:
    """SQL of one row (body, returned, matched, last_id) for a page of ``query``, and its parameters.

    The Features are built and joined in PostGIS (``string_agg`` in page order) and sent as UTF-8
    bytes (bytea, binary transfer), so Python passes one buffer through to the response instead of
    a row per feature, with no decoding and encoding. A page is at most MAX_LIMIT features (a few
    MB): one buffer is bounded, and cheaper than a server-side cursor's extra round trips.
    numberMatched is counted (up to COUNT_CAP) only without bbox and only when the page is full:
    the scalar subquery is evaluated lazily; it counts every match, whatever the cursor.

    In the default order (by id) the page also gives its last id: the next page starts after it
    (``after``), an index range scan, where an ``offset`` makes PostgreSQL walk and drop every
    feature before the page (1 000 features at offset 500 000 of 1 000 000: 3.3 s against 14 ms).
    """
    where, params = where_sql(source, query)
    keys = _sort_keys(query)
    key_cols = ", ".join(f"{e} AS _k{i}" for i, (e, _) in enumerate(keys))
    agg_order = ", ".join(f"p._k{i} {'DESC' if d else 'ASC'}" for i, (_, d) in enumerate(keys))
    page_where = where
    if query.after is not None:
        page_where = f"({where}) AND t.id > :after"
        params = {**params, "after": query.after}
    if query.bbox is None:
        counted = f"(SELECT count(*) FROM (SELECT 1 FROM {source.qualified} t WHERE {where} LIMIT {COUNT_CAP + 1}) c)"
        matched = counted if query.after is not None else (
            f"CASE WHEN :offset = 0 AND count(*) < :limit THEN count(*) ELSE {counted} END")
    else:
        matched = "NULL::bigint"
    keyset = not query.sortby and source.id_type in INTEGER_IDS
    last_id = "max(p._k0)" if keyset else "NULL::bigint"
    sql = (f"SELECT convert_to(coalesce(string_agg(p.f, ',' ORDER BY {agg_order}), ''), 'UTF8') AS body, "
           f"count(*) AS returned, {matched} AS matched, {last_id} AS last_id "
           f"FROM (SELECT {feature_sql(source, query.crs)} AS f, {key_cols} "
           f"FROM {source.qualified} t WHERE {page_where} {order_sql(query)} LIMIT :limit OFFSET :offset) p")
    return sql, {**params, "limit": query.limit, "offset": query.offset}


_COMPILED: dict[str, str] = {}


def fetch_one(conn, sql: str, params: dict, binary: bool = True) -> tuple | None:
    """Run ``sql`` (``:name`` binds) on the DBAPI connection under SQLAlchemy's ``conn``; return its
    first row as a tuple (columns in binary format by default: bytea arrives as raw bytes).

    The serving fast path: SQLAlchemy's result layer (column metadata, Row objects) costs more per
    request than the DBAPI call itself. Parameters stay bound; the compiled form is cached by text.
    """
    compiled = _COMPILED.get(sql)
    if compiled is None:
        compiled = text(sql).compile(dialect=conn.dialect).string
        if len(_COMPILED) > 512:
            _COMPILED.clear()
        _COMPILED[sql] = compiled
    with conn.connection.driver_connection.cursor() as cur:
        return cur.execute(compiled, params, binary=binary).fetchone()


def to_page(body: bytes, returned: int, matched: int | None, last_id: int | None = None) -> Page:
    """A Page from the columns of ``page_sql`` (numberMatched dropped past COUNT_CAP)."""
    return Page(body, returned, matched if matched is not None and matched <= COUNT_CAP else None, last_id)


def items(conn, source: Source, query: ItemsQuery) -> Page:
    """One page of ``query`` over ``source``, in one statement (see ``page_sql``)."""
    sql, params = page_sql(source, query)
    return to_page(*fetch_one(conn, sql, params))


def item_sql(source: Source, feature_id: str, crs: Crs) -> tuple[str, dict]:
    """The statement of one Feature (text) by id and its parameters; NotFound for an id that
    cannot be one of the source's (not an integer for an integer key)."""
    where, params = source.where_filters()
    if source.id_type in ("integer", "bigint", "smallint"):
        try:
            fid: int | str = int(feature_id)
        except ValueError:
            raise NotFound(f"no feature '{feature_id}'") from None
    else:
        fid = feature_id
    where.append("t.id = :fid")
    return (f"SELECT {feature_sql(source, crs)} FROM {source.qualified} t WHERE " + " AND ".join(where),
            {**params, "fid": fid})


def item(conn, source: Source, feature_id: str, crs: Crs) -> str:
    """Return one Feature (text) by id, or raise NotFound."""
    sql, params = item_sql(source, feature_id, crs)
    row = conn.execute(text(sql), params).scalar()
    if row is None:
        raise NotFound(f"no feature '{feature_id}'")
    return row
