"""The layer catalogue: lookup with access rules, computed statistics, seeding."""
from __future__ import annotations

import datetime as dt
import json
import threading
from collections import namedtuple
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import func, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from layers.features import fetch_one
from layers.sources import Source, describe
from ova.db import transaction
from ova.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from ova.models import Layer, Producer
from ova.settings import storage_srid
from ova.sqlnames import quote_ident

SEED_FILE = Path(__file__).resolve().parent / "seed" / "layers.yml"
LICENCES = ("Licence Ouverte 2.0", "ODbL 1.0")
#: Licence IRIs as data.gouv.fr knows them (the ``url`` of its licences "lov2" and "odc-odbl"), so a
#: harvester maps them to its own licences; also the links shown and sent in ``Link`` headers.
LICENCE_URLS = {
    "Licence Ouverte 2.0": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
    "ODbL 1.0": "http://opendatacommons.org/licenses/odbl/summary/",
}
EDITABLE_FIELDS = ("title", "abstract", "keywords", "theme", "contact", "licence", "attribution",
                   "update_frequency", "restricted_to", "published")


@dataclass(frozen=True)
class Reader:
    """Who is reading: a role (None when anonymous) and the producer of an agent."""

    role: str | None = None
    producer_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


ANONYMOUS = Reader()


def can_read(layer: Layer, reader: Reader) -> bool:
    """True when ``reader`` may read ``layer`` (published and public, or an allowed role)."""
    if reader.is_admin:
        return True
    owner = reader.role == "agent" and reader.producer_id == layer.producer_id
    if not layer.published and not owner:
        return False
    return not layer.restricted_to or owner or reader.role in layer.restricted_to


def can_edit(layer: Layer, reader: Reader) -> bool:
    """Admins and the agents of the layer's producer edit a layer."""
    return reader.is_admin or (reader.role == "agent" and reader.producer_id == layer.producer_id)


def readable_filter(reader: Reader):
    """A SQL condition on Layer selecting the layers ``reader`` may read."""
    if reader.is_admin:
        return Layer.id.isnot(None)
    public = (Layer.published.is_(True)) & (func.cardinality(Layer.restricted_to) == 0)
    conds = [public]
    if reader.role:
        conds.append(Layer.published.is_(True) & Layer.restricted_to.contains([reader.role]))
    if reader.role == "agent" and reader.producer_id:
        conds.append(Layer.producer_id == reader.producer_id)
    return or_(*conds)


def check_layer(layer, slug: str, reader: Reader):
    if layer is None or (not layer.published and not can_edit(layer, reader)):
        raise NotFound(f"no collection '{slug}'")
    if not can_read(layer, reader):
        if reader.role is None:
            raise Unauthorized(f"the layer '{slug}' is restricted: log in or give an API token")
        raise Forbidden(f"the layer '{slug}' is restricted to {', '.join(layer.restricted_to)}")
    return layer


def get_layer(session: Session, slug: str, reader: Reader) -> Layer:
    """Return the layer ``slug`` if ``reader`` may read it; 404 when unknown, 401/403 when denied."""
    return check_layer(session.scalar(select(Layer).where(Layer.slug == slug)), slug, reader)


_LAYER_ROW = text("SELECT * FROM layers WHERE slug = :slug")
#: The columns of a layer read alongside a page (``page_with_layer``): what access checks, the
#: source's description and the items view use; fewer columns, less to convert per request.
LAYER_COLUMNS = ("id", "slug", "title", "producer_id", "published", "restricted_to", "data_version",
                 "source_table", "source_filter")
LayerRow = namedtuple("LayerRow", LAYER_COLUMNS)
_LAYER_COLS = ", ".join(f"l.{quote_ident(c)}" for c in LAYER_COLUMNS)


def layer_row_statement(slug: str):
    """The Core statement of a layer's row (for ``get_layer_row``)."""
    return _LAYER_ROW, {"slug": slug}


def page_with_layer(conn, slug: str, page_sql: str, params: dict) -> tuple:
    """Run ``page_sql`` (see ``layers.features.page_sql``) and read the row of layer ``slug`` in the
    same statement, so a served page costs one round trip. Return (LayerRow or None, page columns).

    The row read here, not any cached one, decides access (``check_layer``) and whether the page
    was computed for the layer's current data (``same_layer``).
    """
    cols = ", ".join(f"l.{quote_ident(c)}" for c in LAYER_COLUMNS)
    row = fetch_one(conn, f"SELECT pg.*, {cols} FROM ({page_sql}) pg LEFT JOIN layers l ON l.slug = :layer_slug",
                    {**params, "layer_slug": slug})
    layer = LayerRow(*row[4:])
    return (layer if layer.id is not None else None), tuple(row[:4])


def item_with_layer(conn, slug: str, item_sql: str, params: dict) -> tuple:
    """Run ``item_sql`` (see ``layers.features.item_sql``) and read the row of layer ``slug`` in the
    same statement, as ``page_with_layer`` does for a page. Return (LayerRow or None, the Feature's
    text or None when there is no such feature)."""
    row = fetch_one(conn, f"SELECT ({item_sql} LIMIT 1) AS feature, {_LAYER_COLS} FROM (VALUES (1)) one (x) "
                          f"LEFT JOIN layers l ON l.slug = :layer_slug", {**params, "layer_slug": slug})
    layer = LayerRow(*row[1:])
    return (layer if layer.id is not None else None), row[0]


def get_layer_row(conn, slug: str, reader: Reader):
    """Like ``get_layer`` in one Core query (a Row with the layer's columns): the serving fast path."""
    stmt, params = layer_row_statement(slug)
    row = check_layer(conn.execute(stmt, params).first(), slug, reader)
    remember(row)
    return row


#: Last seen row of each layer, by slug: only a hint of which SQL to run. The fresh row, read in
#: the same round trip as the data, always decides access (see ``same_layer``).
_HINTS: dict[str, object] = {}


def remember(row) -> None:
    """Keep ``row`` as the hint for its slug."""
    if len(_HINTS) > 1024:
        _HINTS.clear()
    _HINTS[row.slug] = row


def hint(slug: str, reader: Reader):
    """The last seen row of ``slug`` if ``reader`` could read it then, else None."""
    row = _HINTS.get(slug)
    if row is not None and row.published and can_read(row, reader):
        return row
    return None


def same_layer(a, b) -> bool:
    """True when rows ``a`` and ``b`` describe the same data (the same query applies)."""
    return (a.id, a.data_version, a.source_table, a.source_filter) == (b.id, b.data_version, b.source_table,
                                                                      b.source_filter)


def list_layers(session: Session, reader: Reader, *, q: str | None = None, producer: str | None = None,
                theme: str | None = None) -> list[Layer]:
    """Readable layers matching a free text, a producer slug and a theme, by title."""
    stmt = select(Layer).join(Producer).where(readable_filter(reader))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Layer.title.ilike(like), Layer.abstract.ilike(like), Layer.slug.ilike(like),
                              func.array_to_string(Layer.keywords, " ").ilike(like)))
    if producer:
        stmt = stmt.where(Producer.slug == producer)
    if theme:
        stmt = stmt.where(Layer.theme == theme)
    return list(session.scalars(stmt.order_by(Layer.title)))


_SOURCES: dict[tuple, Source] = {}
_SOURCES_LOCK = threading.Lock()


def source_of(conn, layer: Layer) -> Source:
    """The described source of ``layer``, cached per layer and data version (and storage CRS: the tests
    serve databases of two territories from one process)."""
    key = (storage_srid(), layer.id, layer.data_version, layer.source_table,
           json.dumps(layer.source_filter, sort_keys=True))
    source = _SOURCES.get(key)
    if source is None:
        source = describe(conn, layer.source_table, layer.source_filter)
        with _SOURCES_LOCK:
            if len(_SOURCES) > 512:
                _SOURCES.clear()
            _SOURCES[key] = source
    return source


def base_where(source: Source) -> tuple[str, dict]:
    """The WHERE clause of the layer's own filters (always true when none)."""
    clauses, params = source.where_filters()
    return (" AND ".join(clauses) or "TRUE"), params


def layer_stats(conn, source: Source) -> dict:
    """Feature count, WGS 84 extent and temporal extent of a source, computed in PostGIS."""
    where, params = base_where(source)
    temporal = (f"min({source.column(source.temporal)}) AS tmin, max({source.column(source.temporal)}) AS tmax"
                if source.temporal else "NULL AS tmin, NULL AS tmax")
    row = conn.execute(text(
        f"SELECT c, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), tmin, tmax FROM ("
        f"SELECT count(*) AS c, ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, {int(source.srid)}), 4326) AS e, "
        f"{temporal} FROM {source.qualified} WHERE {where}) s"
    ), params).one()
    count, tmin, tmax = row[0], row[5], row[6]
    bbox = [row[1], row[2], row[3], row[4]] if row[1] is not None else None
    return {"count": count, "bbox": bbox, "interval": [_iso(tmin), _iso(tmax)] if tmin else None}


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def check_licence(licence: str) -> str:
    """Return ``licence`` if it is one of the catalogue's licences."""
    if licence not in LICENCES:
        raise InvalidInput(f"unknown licence '{licence}' (expected one of {', '.join(LICENCES)})")
    return licence


def seed_layers(bind, path: Path | str = SEED_FILE) -> int:
    """Create or update the layers declared in a YAML file (idempotent); return how many."""
    entries = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    required = {"slug", "title", "producer", "source_table"}
    with transaction(bind) as conn:
        producers = dict(conn.execute(select(Producer.slug, Producer.id)).all())
        for i, entry in enumerate(entries):
            missing = required - set(entry)
            if missing:
                raise InvalidInput(f"{path}: entry {i + 1} lacks {', '.join(sorted(missing))}")
            if entry["producer"] not in producers:
                raise InvalidInput(f"{path}: entry {i + 1}: unknown producer '{entry['producer']}'")
            describe(conn, entry["source_table"], entry.get("source_filter"))
            values = {k: entry[k] for k in ("title", "abstract", "keywords", "theme", "contact",
                                            "attribution", "update_frequency", "source_table",
                                            "source_filter", "geometry_type", "restricted_to")
                      if k in entry}
            values["licence"] = check_licence(entry.get("licence", "Licence Ouverte 2.0"))
            values["producer_id"] = producers[entry["producer"]]
            stmt = pg_insert(Layer).values(slug=entry["slug"], **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=[Layer.slug], set_=values))
    return len(entries)


_STATS: dict[tuple, dict] = {}


def cached_stats(conn, layer: Layer, source: Source) -> dict:
    """``layer_stats`` cached per layer and data version (a data change computes them again)."""
    key = (source.srid, layer.id, layer.data_version, source.qualified, json.dumps(source.filters, sort_keys=True))
    stats = _STATS.get(key)
    if stats is None:
        stats = layer_stats(conn, source)
        with _SOURCES_LOCK:
            if len(_STATS) > 512:
                _STATS.clear()
            _STATS[key] = stats
    return stats
