"""CSW 2.0.2 discovery service over the layers' ISO 19139 records, served by pycsw.

Records live in ``csw_records`` (pycsw's record model, a PostGIS geometry for bbox queries), one
per public layer, filled by pycsw's own ISO parser so that its queryables and output schemas
(csw:Record, gmd:MD_Metadata) read them as pycsw's harvester would have. ``sync_records`` rebuilds
exactly the records whose layer, metadata, producer, data version or public URL changed (their
``stamp`` differs) and removes those of layers no longer public; the CSW view runs it before each
request, in the request's transaction, so a harvester never reads a stale record.

pycsw's own SQLAlchemy repository targets SQLAlchemy 1.x; ``PortalRepository`` implements the
repository contract pycsw offers to custom stores (``repository.source``) with SQLAlchemy 2 Core,
on the connection of the current request.
"""
from __future__ import annotations

import contextvars
import hashlib
import json
import logging
from types import SimpleNamespace

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from layers.iso19139 import iso_record, record_identifier
from ova.models import CSW_RECORDS, CSW_TEXT_COLUMNS

LOGGER = logging.getLogger(__name__)
_CONNECTION: contextvars.ContextVar = contextvars.ContextVar("csw_connection")
#: Columns a CSW client may sort or list domains on (all of pycsw's text columns).
_COLUMNS = {c.name: c for c in CSW_RECORDS.columns}


def stamp(layer, facts, links) -> str:
    """A hash of everything a layer's record is built from."""
    producer = layer.producer
    state = [layer.slug, layer.title, layer.abstract, list(layer.keywords or []), layer.theme, layer.contact,
             layer.licence, layer.attribution, layer.update_frequency, layer.data_version,
             layer.last_update.isoformat(), producer.name, producer.email, producer.url, links.page,
             links.collection, links.tilejson, sorted(links.download.items()), [v.version for v in facts.versions]]
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()


def _context():
    from pycsw.core import config as pycsw_config

    return pycsw_config.StaticContext()


class _Record(SimpleNamespace):
    """What pycsw's parser fills: one attribute per column."""


def record_row(context, xml: bytes) -> dict:
    """The ``csw_records`` columns of an ISO 19139 document, as pycsw's parser reads them."""
    from pycsw.core import metadata

    parsed = metadata.parse_record(context, xml, SimpleNamespace(dataset=_Record))[0]
    row = {name: getattr(parsed, name, None) for name in CSW_TEXT_COLUMNS}
    row["identifier"] = parsed.identifier
    for name, value in row.items():
        if isinstance(value, bytes):
            row[name] = value.decode("utf-8")
    return row


def sync_records(conn, entries: list[tuple], layer_links) -> dict:
    """Bring ``csw_records`` in line with ``entries`` = [(layer, stats, facts)], the public layers.

    Return {"built": n, "removed": n, "kept": n}. One statement per changed record; unchanged
    records cost nothing but the stamp comparison.
    """
    current = dict(conn.execute(select(CSW_RECORDS.c.layer_id, CSW_RECORDS.c.stamp)).all())
    context = None
    built = 0
    for layer, stats, facts in entries:
        links = layer_links(layer)
        new_stamp = stamp(layer, facts, links)
        if current.get(layer.id) == new_stamp:
            continue
        context = context or _context()
        row = record_row(context, iso_record(layer, stats, facts, links))
        assert row["identifier"] == record_identifier(links)
        values = {**row, "layer_id": layer.id, "stamp": new_stamp,
                  "wkb_geometry": func.ST_GeomFromText(row["wkt_geometry"], 4326) if row["wkt_geometry"] else None}
        conn.execute(delete(CSW_RECORDS).where(CSW_RECORDS.c.layer_id == layer.id))
        conn.execute(pg_insert(CSW_RECORDS).values(**values).on_conflict_do_update(
            index_elements=[CSW_RECORDS.c.identifier], set_={k: v for k, v in values.items() if k != "identifier"}))
        built += 1
    public = [layer.id for layer, _, _ in entries]
    removed = conn.execute(delete(CSW_RECORDS).where(CSW_RECORDS.c.layer_id.notin_(public))).rowcount
    if built or removed:
        LOGGER.info("CSW records: %s built, %s removed", built, removed)
    return {"built": built, "removed": removed, "kept": len(entries) - built}


def record_xml(conn, layer_id: int) -> str | None:
    """The stored ISO 19139 document of a layer, or None."""
    return conn.scalar(select(CSW_RECORDS.c.xml).where(CSW_RECORDS.c.layer_id == layer_id))


class PortalRepository:
    """pycsw repository plugin over ``csw_records`` (read-only: no CSW-T)."""

    dbtype = "postgresql+postgis+native"
    fts = False
    filter = None
    label = "Portail OVA"
    local_ingest = False

    def __init__(self, context, repo_filter=None):
        self.context = context
        self.dataset = _Record
        self.queryables = {}
        for typename in context.model["typenames"].values():
            for name, queryable in typename["queryables"].items():
                self.queryables[name] = dict(queryable)
        everything = {}
        for queryable in self.queryables.values():
            everything.update(queryable)
        everything.update(context.md_core_model["mappings"])
        self.queryables["_all"] = everything

    @property
    def _conn(self):
        return _CONNECTION.get()

    def _column(self, name: str):
        if name not in _COLUMNS:
            raise ValueError(f"unknown record property {name!r}")
        return _COLUMNS[name]

    def _rows(self, stmt) -> list:
        return list(self._conn.execute(stmt).all())

    def query_ids(self, ids):
        """Records by identifier."""
        return self._rows(select(CSW_RECORDS).where(CSW_RECORDS.c.identifier.in_(list(ids))))

    def query_domain(self, domain, typenames, domainquerytype="list", count=False):
        """Values (or range) of a property over the records."""
        column = self._column(domain)
        if domainquerytype == "range":
            return self._rows(select(func.min(column), func.max(column)))
        if count:
            return self._rows(select(column, func.count(column)).group_by(column))
        return self._rows(select(column).distinct())

    def query_insert(self, direction="max"):
        """Latest (or earliest) insert date."""
        agg = func.min if direction == "min" else func.max
        return self._conn.scalar(select(agg(CSW_RECORDS.c.insert_date)))

    def query_source(self, source):
        """Records harvested from ``source``."""
        return self._rows(select(CSW_RECORDS).where(CSW_RECORDS.c.source == source))

    def query(self, constraint, sortby=None, typenames=None, maxrecords=10, startposition=0):
        """[total as text, page of records] matching pycsw's parsed filter (bound parameters)."""
        stmt = select(CSW_RECORDS)
        if "where" in constraint:
            params = {f"pvalue{i}": v for i, v in enumerate(constraint["values"])}
            stmt = stmt.where(text(constraint["where"]).bindparams(**params))
        total = self._conn.scalar(select(func.count()).select_from(stmt.subquery()))
        if sortby is not None:
            column = self._column(sortby["propertyname"])
            stmt = stmt.order_by(column.desc() if sortby.get("order") == "DESC" else column)
        else:
            stmt = stmt.order_by(CSW_RECORDS.c.title, CSW_RECORDS.c.identifier)
        return [str(total), self._rows(stmt.limit(int(maxrecords)).offset(int(startposition)))]

    def insert(self, *args, **kwargs):
        raise RuntimeError("the portal's CSW is read-only: records follow the catalogue")

    update = delete = insert


def pycsw_config(*, url: str, title: str, abstract: str, publisher: str, home: str, email: str | None,
                 language: str = "fr") -> dict:
    """pycsw's configuration for the portal: CSW 2.0.2 with the ISO Application Profile."""
    return {
        "server": {"home": ".", "url": url, "mimetype": "application/xml; charset=UTF-8", "encoding": "UTF-8",
                   "language": language, "maxrecords": 100, "pretty_print": True, "domainquerytype": "list",
                   "domaincounts": False, "profiles": ["apiso"]},
        "logging": {"level": "ERROR"},
        "profiles": ["apiso"],
        "manager": {"transactions": False, "allowed_ips": []},
        "metadata": {
            "identification": {"title": title, "description": abstract,
                               "keywords": ["catalogue", "métadonnées", "ISO 19139", "INSPIRE", "OVA"],
                               "keywords_type": "theme", "fees": "aucun", "accessconstraints": "aucune",
                               "url": home},
            "license": {"name": "Licence Ouverte 2.0 / ODbL 1.0 selon la couche", "url": home},
            "provider": {"name": publisher, "url": home},
            "contact": {"name": publisher, "position": "Administrateur du catalogue", "email": email or "",
                        "url": home, "role": "pointOfContact", "address": "", "city": "", "stateorprovince": "",
                        "postalcode": "", "country": "France", "phone": "", "fax": "", "hours": "",
                        "instructions": ""},
            "inspire": {"enabled": False},
        },
        "repository": {"database": "postgresql://", "table": "csw_records",
                       "source": "layers.csw.PortalRepository"},
    }


def serve(conn, environ: dict, config: dict) -> tuple[str, bytes, str]:
    """Answer one CSW request (a WSGI environ) with pycsw: (status line, body, content type)."""
    from pycsw.server import Csw

    # pycsw logs each request's steps at INFO: keep its warnings and errors only.
    logging.getLogger("pycsw").setLevel(max(logging.getLogger("pycsw").getEffectiveLevel(), logging.WARNING))
    token = _CONNECTION.set(conn)
    try:
        csw = Csw(config, environ, version="2.0.2")
        # pycsw writes filters for a custom repository with Django's %s placeholders unless told
        # the store speaks SQLAlchemy (named :pvalueN parameters, bound in PortalRepository.query).
        csw.orm = "sqlalchemy"
        status, body = csw.dispatch_wsgi()
        return status, body, csw.contenttype
    finally:
        _CONNECTION.reset(token)
