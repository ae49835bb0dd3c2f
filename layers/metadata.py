"""What a harvester needs to know about a layer beyond its own row, read from the data itself.

Shared by the DCAT-AP export (``layers.dcat``) and the ISO 19139 records (``layers.iso19139``):
publication and modification dates, the temporal coverage of the data (from the data's own dates,
never from load bookkeeping), the communes covered (INSEE codes) and the load history (lineage).
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass

from sqlalchemy import text

from layers.catalogue import base_where
from layers.sources import Source

#: Date columns that say when a row was loaded or edited, not when what it describes happened:
#: they never make a temporal coverage (a load of old data would seem to cover the load day;
#: an establishment's creation date, back to 1901, is not the period the data describes).
BOOKKEEPING_DATES = ("loaded_at", "created_at", "updated_at", "created_on")
#: Columns saying when rows were loaded, in order of preference: the dates of the data's loads.
LOAD_DATES = ("loaded_at", "updated_at", "created_at")
#: Column holding the INSEE code of the commune of a row, when a source has one.
COMMUNE_COLUMN = "commune_insee"
#: Above this many communes a layer's coverage is said by its bounding box only.
MAX_COMMUNES = 60

#: Themes a producer picks from, each with its EU data theme (publications.europa.eu authority
#: table "data-theme"). Labels are stored as the layer's theme and shown in the catalogue.
THEMES = {
    "Référentiels": "REGI",
    "Urbanisme": "REGI",
    "Propreté": "ENVI",
    "Environnement": "ENVI",
    "Économie": "ECON",
    "Commerce": "ECON",
    "Sécurité": "JUST",
    "Éclairage public": "ENER",
    "Transports": "TRAN",
    "Population et société": "SOCI",
    "Services publics": "GOVE",
}
#: French labels of the EU data themes used above (skos:prefLabel of the authority table).
EU_THEME_LABELS = {
    "REGI": "Régions et villes", "ENVI": "Environnement", "ECON": "Économie et finances",
    "JUST": "Justice, système juridique et sécurité publique", "ENER": "Énergie", "TRAN": "Transports",
    "SOCI": "Population et société", "GOVE": "Gouvernement et secteur public",
}


@dataclass(frozen=True)
class Version:
    """One published version of a layer's data (``layer_versions``)."""

    version: int
    published_at: dt.datetime
    filename: str | None
    feature_count: int
    note: str | None


@dataclass(frozen=True)
class LayerFacts:
    """Dates, coverage and history of a layer, true to its data."""

    issued: dt.datetime
    modified: dt.datetime
    temporal: tuple[str, str] | None
    temporal_column: str | None
    communes: tuple[str, ...]
    versions: tuple[Version, ...]


def coverage_column(source: Source) -> str | None:
    """The date column whose range is the data's temporal coverage, or None."""
    if source.temporal and source.temporal not in BOOKKEEPING_DATES:
        return source.temporal
    return None


def communes(conn, source: Source) -> tuple[str, ...]:
    """INSEE codes of the communes the source's rows lie in (empty when unknown or too many)."""
    if COMMUNE_COLUMN not in source.columns:
        return ()
    where, params = base_where(source)
    col = source.column(COMMUNE_COLUMN)
    rows = conn.execute(text(
        f"SELECT DISTINCT {col}::text FROM {source.qualified} WHERE {where} AND {col} IS NOT NULL "
        f"ORDER BY 1 LIMIT {MAX_COMMUNES + 1}"), params).scalars().all()
    codes = tuple(c for c in rows if len(c) == 5)
    return () if len(rows) > MAX_COMMUNES else codes


def load_dates(conn, source: Source) -> tuple[dt.datetime, dt.datetime] | None:
    """First and last load of the source's rows (from its load-date column), or None."""
    column = next((c for c in LOAD_DATES if source.columns.get(c, "").startswith("timestamp")), None)
    if column is None:
        return None
    where, params = base_where(source)
    col = source.column(column)
    row = conn.execute(text(f"SELECT min({col}), max({col}) FROM {source.qualified} WHERE {where}"), params).one()
    return (row[0], row[1]) if row[0] is not None else None


def versions(conn, layer_id: int) -> tuple[Version, ...]:
    """The published versions of a layer, oldest first."""
    rows = conn.execute(text(
        "SELECT version, created_at, filename, feature_count, note FROM layer_versions "
        "WHERE layer_id = :id ORDER BY version"), {"id": layer_id}).all()
    return tuple(Version(*row) for row in rows)


_FACTS: dict[tuple, LayerFacts] = {}
_LOCK = threading.Lock()


def layer_facts(conn, layer, source: Source, stats: dict) -> LayerFacts:
    """The facts of ``layer`` (cached per layer and data version; ``stats`` from ``cached_stats``).

    Issued: the first published version, else the first load of the rows (their load-date column),
    else when the layer entered the catalogue. Modified: the last published version, else the last
    load of the rows, else the last data change (``last_update``, bumped by every load; also set
    when a layer is declared, so it is the fallback only). Temporal coverage: the range of the
    layer's own date column, absent when it only has bookkeeping dates.
    """
    key = (layer.id, layer.data_version, layer.last_update, source.qualified,
           json.dumps(source.filters, sort_keys=True))
    facts = _FACTS.get(key)
    if facts is not None:
        return facts
    history = versions(conn, layer.id)
    column = coverage_column(source)
    loads = None if history else load_dates(conn, source)
    if history:
        issued, modified = history[0].published_at, history[-1].published_at
    elif loads:
        issued, modified = loads
    else:
        issued, modified = layer.created_at, layer.last_update
    facts = LayerFacts(issued=issued, modified=max(modified, issued),
                       temporal=tuple(stats["interval"]) if column and stats.get("interval") else None,
                       temporal_column=column, communes=communes(conn, source), versions=history)
    with _LOCK:
        if len(_FACTS) > 512:
            _FACTS.clear()
        _FACTS[key] = facts
    return facts
