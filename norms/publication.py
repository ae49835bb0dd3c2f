"""Monthly publication of compliance results: frozen, versioned, published as a catalogue layer.

A month is published once; publishing it again is refused unless superseding with a reason, and
the superseded version (its rows and its layer) is kept. Frozen rows live in ``published_results``
(a trigger refuses any UPDATE or DELETE). Each publication gets a view of quartier polygons with
their results (columns ``id`` and ``geom`` in Lambert-93) and a ``layers`` row pointing at it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Connection

from notifications import events as notify
from ova.errors import Conflict, InvalidInput
from ova.settings import timezone_name

#: A publication is "on time" when made by this day of the following month.
DEFAULT_DUE_DAY = 5
#: The producer that owns the published layers.
PUBLISHER_SLUG = "sig"

MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
             "octobre", "novembre", "décembre")

_FREEZE = """
    INSERT INTO published_results (publication_id, norm_code, norm_label, quartier_code, quartier_name,
        zone_code, month, cases, compliant, rate, target_rate, median_delay_hours, p90_delay_hours,
        open_overdue, status, simulated, geom)
    SELECT :pub, n.code, n.label_fr, q.code, q.name, z.code, r.month, r.cases, r.compliant, r.rate,
           n.target_rate, r.median_delay_hours, r.p90_delay_hours, r.open_overdue, r.status,
           r.simulated > 0, q.geom
    FROM compliance_results r
    JOIN norms n ON n.id = r.norm_id
    LEFT JOIN quartiers q ON q.id = r.quartier_id
    LEFT JOIN priority_zones z ON z.id = r.zone_id
    WHERE r.month = :month
    ORDER BY q.code, n.code, r.zone_id NULLS FIRST
"""


@dataclass(frozen=True)
class Publication:
    """A publication as returned by :func:`publish_month`."""

    id: int
    month: dt.date
    version: int
    row_count: int
    due_on: dt.date
    published_at: dt.datetime
    layer_slug: str

    @property
    def on_time(self) -> bool:
        return self.published_at.astimezone(ZoneInfo(timezone_name())).date() <= self.due_on


def due_date(month: dt.date, due_day: int = DEFAULT_DUE_DAY) -> dt.date:
    """The last on-time day of the publication of ``month``: ``due_day`` of the following month."""
    nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt.replace(day=due_day)


def view_name(publication_id: int) -> str:
    """Name of the layer view of a publication (an integer id: safe as an identifier)."""
    return f"compliance_publication_{int(publication_id)}"


def publish_month(conn: Connection, month: dt.date, *, supersede: bool = False, reason: str | None = None,
                  published_by: str | None = None, due_day: int = DEFAULT_DUE_DAY) -> Publication:
    """Freeze ``month``'s compliance results as a new publication and publish its layer."""
    month = month.replace(day=1)
    reason = (reason or "").strip() or None
    current = conn.execute(text(
        "SELECT id, version FROM compliance_publications WHERE month = :m AND superseded_by IS NULL "
        "FOR UPDATE"), {"m": month}).first()
    if current is not None and not supersede:
        raise Conflict(f"{month:%Y-%m} is already published (version {current.version}); "
                       "publish a new version with --supersede --reason …")
    if supersede and current is None:
        raise InvalidInput(f"{month:%Y-%m} has never been published: nothing to supersede")
    if supersede and not reason:
        raise InvalidInput("a new version needs a reason (--reason)")
    if not conn.scalar(text("SELECT count(*) FROM compliance_results WHERE month = :m"), {"m": month}):
        raise InvalidInput(f"no compliance results for {month:%Y-%m}: run `ova compliance compute` first")
    version = (current.version + 1) if current else 1
    row = conn.execute(text(
        "INSERT INTO compliance_publications (month, version, due_on, published_by, reason) "
        "VALUES (:m, :v, :due, :by, :reason) RETURNING id, published_at"),
        {"m": month, "v": version, "due": due_date(month, due_day), "by": published_by, "reason": reason}).one()
    count = conn.execute(text(_FREEZE), {"pub": row.id, "month": month}).rowcount
    if current is not None:
        conn.execute(text("UPDATE compliance_publications SET superseded_by = :new WHERE id = :old"),
                     {"new": row.id, "old": current.id})
    view = view_name(row.id)
    conn.execute(text(
        f"CREATE VIEW {view} AS SELECT id, norm_code, norm_label, quartier_code, quartier_name, month, "
        "cases, compliant, rate, target_rate, median_delay_hours, p90_delay_hours, open_overdue, status, "
        f"simulated, geom FROM published_results WHERE publication_id = {int(row.id)} "
        "AND zone_code IS NULL AND geom IS NOT NULL"))
    slug = f"conformite-{month:%Y-%m}-v{version}"
    label = f"{MONTHS_FR[month.month - 1]} {month.year}"
    layer_id = conn.scalar(text(
        "INSERT INTO layers (slug, title, abstract, keywords, theme, producer_id, licence, update_frequency, "
        "source_table, geometry_type) VALUES (:slug, :title, :abstract, :kw, 'Qualité de service', "
        "(SELECT id FROM producers WHERE slug = :producer), 'Licence Ouverte 2.0', 'mensuelle', :view, "
        "'MULTIPOLYGON') RETURNING id"),
        {"slug": slug, "title": f"Conformité aux normes de qualité OVA par quartier — {label} (version {version})",
         "abstract": ("Taux de conformité de chaque norme de qualité par quartier, gelés à la publication. "
                      "Les délais marqués « simulated » proviennent de la simulation documentée."
                      + (f" Remplace la version {version - 1} : {reason}" if current else "")),
         "kw": ["OVA", "normes de qualité", "conformité", "quartiers"], "producer": PUBLISHER_SLUG,
         "view": view})
    conn.execute(text("UPDATE compliance_publications SET layer_id = :l, row_count = :c WHERE id = :id"),
                 {"l": layer_id, "c": count, "id": row.id})
    notify.compliance_published(conn, row.id)
    return Publication(row.id, month, version, count, due_date(month, due_day), row.published_at, slug)


def list_publications(conn: Connection) -> list[dict]:
    """Every publication, newest month first, with its layer slug and on-time flag."""
    rows = conn.execute(text(
        "SELECT p.*, l.slug AS layer_slug, "
        "(p.published_at AT TIME ZONE CAST(:tz AS text))::date <= p.due_on AS on_time, "
        "s.version AS superseded_by_version "
        "FROM compliance_publications p LEFT JOIN layers l ON l.id = p.layer_id "
        "LEFT JOIN compliance_publications s ON s.id = p.superseded_by "
        "ORDER BY p.month DESC, p.version DESC"), {"tz": timezone_name()}).mappings().all()
    return [dict(r) for r in rows]
