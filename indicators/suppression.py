"""Statistical suppression: counts below a threshold are hidden from public outputs.

A public figure is shown only when every count it is computed from reaches the threshold
(default 5): a count itself, a rate of that count, a median over that many cases, a trend of two
counts. The rule runs in SQL (``select_list``) so that pages, exports, the GeoJSON feed and the
catalogue views share it. Roles in ``DETAIL_ROLES`` see the raw figures.
"""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_THRESHOLD = 5
#: Roles that see unsuppressed figures and the per-zone view.
DETAIL_ROLES = frozenset({"banque", "admin"})


@dataclass(frozen=True)
class Indicator:
    """One published figure of ``territory_indicators``.

    ``depends_on`` lists the count columns that must reach the threshold for the figure to be
    published; empty means never suppressed (areas, populations).
    """

    key: str
    label_fr: str
    label_en: str
    unit: str = ""
    depends_on: tuple[str, ...] = ()
    decimals: int = 0
    choropleth: bool = True


_EST = ("establishments_active",)
_INC = ("incidents",)

#: The registry of published indicators, in display order (keys are whitelisted column names).
INDICATORS: dict[str, Indicator] = {i.key: i for i in (
    Indicator("establishments_active", "Établissements actifs", "Active establishments", "", _EST),
    Indicator("establishments_per_km2", "Établissements par km²", "Establishments per km²", "/km²", _EST, 1),
    Indicator("establishments_per_1000_inhabitants", "Établissements pour 1 000 habitants",
              "Establishments per 1,000 inhabitants", "‰", _EST, 2),
    Indicator("establishments_created", "Créations d'établissements", "Establishments created", "",
              ("establishments_created",)),
    Indicator("establishments_closed", "Fermetures d'établissements", "Establishments closed", "",
              ("establishments_closed",)),
    Indicator("establishments_trend_pct", "Évolution des établissements actifs (%)",
              "Change in active establishments (%)", "%", _EST + ("establishments_active_prev12m",), 1),
    Indicator("incidents", "Signalements", "Incidents", "", _INC),
    Indicator("incidents_per_km2", "Signalements par km²", "Incidents per km²", "/km²", _INC, 1),
    Indicator("incidents_per_1000_establishments", "Signalements pour 1 000 établissements",
              "Incidents per 1,000 establishments", "‰", _INC + _EST, 1),
    Indicator("incidents_per_1000_inhabitants", "Signalements pour 1 000 habitants",
              "Incidents per 1,000 inhabitants", "‰", _INC, 2),
    Indicator("median_resolution_hours", "Délai médian de résolution (h)", "Median resolution delay (h)",
              "h", ("incidents_resolved",), 1),
    Indicator("incidents_trend_pct", "Évolution des signalements (%)", "Change in incidents (%)", "%",
              _INC + ("incidents_prev12m",), 1),
    # Extension point of the norms engine (see indicators.territory.NORMS_MET_SQL).
    Indicator("norms_met_share", "Part des normes respectées", "Share of norms met", "", (), 3),
)}

#: Count columns that are themselves suppressed (never shown below the threshold).
COUNT_COLUMNS = ("establishments_active", "establishments_created", "establishments_closed",
                 "incidents", "incidents_resolved", "incidents_prev12m", "establishments_active_prev12m")
#: Columns published as they are.
PLAIN_COLUMNS = ("area_km2", "population", "resolution_simulated")


def can_see_detail(role: str | None) -> bool:
    """True when ``role`` sees unsuppressed figures and the per-zone view."""
    return role in DETAIL_ROLES


def check_threshold(threshold) -> int:
    """Return ``threshold`` as a positive int, or raise ValueError (it may be inlined in a view)."""
    value = int(threshold)
    if value < 1:
        raise ValueError(f"suppression threshold must be at least 1, got {threshold!r}")
    return value


def _dependencies(column: str) -> tuple[str, ...]:
    if column in COUNT_COLUMNS:
        return (column,)
    return INDICATORS[column].depends_on


def _condition(alias: str, deps: tuple[str, ...], threshold: int) -> str:
    return " AND ".join(f"{alias}.{d} >= {threshold}" for d in deps)


def select_list(alias: str, *, detail: bool, threshold: int = DEFAULT_THRESHOLD) -> str:
    """SQL select-list of every published column of ``alias`` (a territory_indicators row).

    Public (``detail`` false): a figure whose dependencies are below ``threshold`` is NULL, and
    its key is listed in the text column ``suppressed`` (comma-separated). Detail: raw figures
    and an empty ``suppressed``. Identifiers come from the registry, the threshold is an int.
    """
    threshold = check_threshold(threshold)
    columns = list(PLAIN_COLUMNS) + list(COUNT_COLUMNS) + [k for k in INDICATORS if k not in COUNT_COLUMNS]
    parts, flags = [], []
    for col in columns:
        deps = () if col in PLAIN_COLUMNS else _dependencies(col)
        if detail or not deps:
            parts.append(f"{alias}.{col} AS {col}")
            continue
        cond = _condition(alias, deps, threshold)
        parts.append(f"CASE WHEN {cond} THEN {alias}.{col} END AS {col}")
        flags.append(f"CASE WHEN NOT coalesce({cond}, false) THEN '{col}' END")
    if flags:
        parts.append(f"concat_ws(',', {', '.join(flags)}) AS suppressed")
    else:
        parts.append("''::text AS suppressed")
    return ",\n       ".join(parts)
