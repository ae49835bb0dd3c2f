"""Catalogue publication: views over ``territory_indicators`` and their ``layers`` rows.

Views (each with ``id`` and ``geom`` in Lambert-93, one row per unit, 12-month figures):
- ``indicators_quartiers_public``: suppressed, public layer;
- ``indicators_quartiers_detail`` and ``indicators_zones_detail``: raw, restricted to
  ``banque`` and ``admin``.
The threshold is inlined in the public view (an int, checked), so ``publish`` is re-run by
``ova indicators compute`` whenever it changes.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from indicators.suppression import DEFAULT_THRESHOLD, DETAIL_ROLES, check_threshold, select_list
from indicators.territory import UNIT_KINDS
from ova.db import transaction

PRODUCER_SLUG = "developpement-economique"


@dataclass(frozen=True)
class PublishedView:
    """A view over the 12-month indicators of one unit kind, and its catalogue layer."""

    name: str
    unit_kind: str
    detail: bool
    slug: str
    title: str
    abstract: str


VIEWS = (
    PublishedView("indicators_quartiers_public", "quartier", False, "indicateurs-quartiers",
                  "Indicateurs des quartiers (12 mois, public)",
                  "Établissements et signalements par quartier sur 12 mois glissants. Les effectifs "
                  "inférieurs au seuil de secret statistique sont masqués (colonne suppressed)."),
    PublishedView("indicators_quartiers_detail", "quartier", True, "indicateurs-quartiers-detail",
                  "Indicateurs des quartiers (12 mois, détaillé)",
                  "Les mêmes indicateurs sans masquage, réservés aux banques et aux administrateurs."),
    PublishedView("indicators_zones_detail", "zone", True, "indicateurs-zones-detail",
                  "Indicateurs des zones commerciales prioritaires (12 mois, détaillé)",
                  "Indicateurs par version de zone prioritaire, réservés aux banques et aux administrateurs."),
)

_LAYER_UPSERT = text("""
    INSERT INTO layers (slug, title, abstract, keywords, theme, producer_id, licence, attribution,
                        update_frequency, source_table, geometry_type, restricted_to, published)
    SELECT :slug, :title, :abstract, CAST(:keywords AS varchar[]), 'Économie', p.id, 'Licence Ouverte 2.0',
           'Portail OVA – INSEE SIRENE, signalements', 'mensuelle', :source_table, 'MultiPolygon',
           CAST(:restricted_to AS varchar[]), true
    FROM producers p WHERE p.slug = :producer
    ON CONFLICT (slug) DO UPDATE SET title = EXCLUDED.title, abstract = EXCLUDED.abstract,
        source_table = EXCLUDED.source_table, restricted_to = EXCLUDED.restricted_to,
        data_version = layers.data_version + 1, last_update = now()
""")


def view_sql(view: PublishedView, threshold: int) -> str:
    """The CREATE OR REPLACE VIEW statement of ``view`` (identifiers from the registry only)."""
    return f"""
        CREATE OR REPLACE VIEW {view.name} AS
        SELECT u.id, u.code, u.name, u.commune, t.period_start, t.period_end,
               {select_list('t', detail=view.detail, threshold=check_threshold(threshold))},
               u.geom
        FROM territory_indicators t JOIN ({UNIT_KINDS[view.unit_kind]}) u ON u.id = t.unit_id
        WHERE t.unit_kind = '{view.unit_kind}' AND t.period_kind = '12m'
    """


def publish(bind, threshold: int = DEFAULT_THRESHOLD) -> list[str]:
    """Create or replace the views and upsert their layer rows; return the layer slugs."""
    with transaction(bind) as conn:
        for view in VIEWS:
            conn.execute(text(f"DROP VIEW IF EXISTS {view.name}"))
            conn.execute(text(view_sql(view, threshold)))
            conn.execute(_LAYER_UPSERT, {
                "slug": view.slug, "title": view.title, "abstract": view.abstract,
                "keywords": ["indicateurs", "quartiers", "établissements", "signalements"],
                "source_table": view.name,
                "restricted_to": sorted(DETAIL_ROLES) if view.detail else [],
                "producer": PRODUCER_SLUG,
            })
    return [v.slug for v in VIEWS]
