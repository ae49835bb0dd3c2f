"""``/achats``: public procurement (DECP) of a buyer, its suppliers on a map and the local share of its spend."""
from __future__ import annotations

import datetime as dt

import folium
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import gettext as _

from indicators import procurement
from indicators.exports import stamp, to_csv, to_xlsx
from ova.errors import InvalidInput, NotFound
from portal.database import get_session
from portal.maps import RemoteGeoJson, make_map, render_parts

bp = Blueprint("achats", __name__)

EXPORT_FORMATS = ("csv", "xlsx")
#: Colours of NAF sections on the supplier map.
SECTION_COLORS = {
    "A": "#1b9e77", "B": "#7f6000", "C": "#d95f02", "D": "#e6ab02", "E": "#66a61e", "F": "#e7298a",
    "G": "#7570b3", "H": "#a6761d", "I": "#e41a1c", "J": "#377eb8", "K": "#4daf4a", "L": "#984ea3",
    "M": "#ff7f00", "N": "#a65628", "O": "#000091", "P": "#f781bf", "Q": "#999999", "R": "#66c2a5",
    "S": "#fc8d62", "T": "#8da0cb", "U": "#333333", "?": "#555555",
}
LINE_COLUMNS = ["decp_id", "buyer_siret", "buyer_name", "notified_on", "cpv_code", "cpv_family", "object",
                "amount", "amount_share", "supplier_id", "supplier_name", "match", "supplier_sirene_name",
                "naf_code", "naf_section", "size_class", "supplier_commune", "geo_precision",
                "in_commune", "in_metropole", "in_departement"]
FAMILY_COLUMNS = ["cpv_family", "label", "amount", "contracts", "amount_local", "share_amount_local",
                  "suppliers", "buyer_local_suppliers", "commune_suppliers", "local_suppliers",
                  "departement_suppliers", "thin"]


def precision_labels() -> dict[str, str]:
    """How precisely a supplier is placed, in words (shown on the map and in tables)."""
    return {"address": _("adresse"), "commune_centroid": _("centroïde de commune"),
            "arrondissement_centroid": _("centroïde d'arrondissement"), "unknown": _("inconnue")}


def _date(name: str) -> dt.date | None:
    value = request.args.get(name) or None
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as err:
        raise InvalidInput(_("Date invalide pour « %(name)s » : %(value)s (AAAA-MM-JJ attendu)",
                             name=name, value=value)) from err


def _scope(conn) -> tuple[procurement.Scope, str | None]:
    """The request's scope; the reference commune defaults to the buyer's (with the basis of the guess)."""
    buyer = (request.args.get("acheteur") or "").strip() or None
    start, last = _date("du"), _date("au")
    end = last + dt.timedelta(days=1) if last else None  # the form's end date is inclusive
    commune = (request.args.get("commune") or "").strip() or None
    basis = "form" if commune else None
    if buyer and not commune and buyer.isdigit() and len(buyer) == 14:
        commune, basis = procurement.buyer_commune(conn, buyer)
    return procurement.Scope(buyer=buyer, start=start, end=end, commune=commune), basis


def _args() -> dict:
    return {k: request.args[k] for k in ("acheteur", "du", "au", "commune") if request.args.get(k)}


@bp.route("/achats")
def index():
    """The procurement page."""
    session = get_session()
    conn = session.connection()
    scope, basis = _scope(conn)
    summary = families = lines = None
    if scope.buyer:
        summary = procurement.summary(conn, scope)
        families = procurement.by_cpv_family(conn, scope)
        lines = procurement.contract_lines(conn, scope, limit=200)
    rate = procurement.join_rate(conn, procurement.Scope(start=scope.start, end=scope.end))
    m = make_map(_static, basemap_url=current_app.config["BASEMAP_URL"],
                 basemap_attribution=current_app.config["BASEMAP_ATTRIBUTION"], height="60vh")
    sections = {**procurement.NAF_SECTION_LABELS, "?": _("Section NAF inconnue")}
    present = procurement.sections_present(conn, scope)
    for index, letter in enumerate(present):
        label = sections[letter]
        RemoteGeoJson(
            url_for("achats.suppliers_feed", section=letter, **_args()), f"{letter} – {label}",
            cluster=False, fit_bounds=index == 0,
            point_style={"radius": 6, "weight": 1, "color": "#222", "fillColor": SECTION_COLORS[letter],
                         "fillOpacity": 0.85},
            tooltip_field="name", title_field="name",
            popup_fields=[("siret", _("SIRET")), ("naf_code", _("Code NAF")), ("size_class", _("Catégorie")),
                          ("commune", _("Commune (INSEE)")), ("cpv_families", _("Familles CPV")),
                          ("amount", _("Montant attribué (€ HT)")), ("contracts", _("Marchés")),
                          ("geo_precision_label", _("Précision de localisation"))],
        ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    chart = None
    if summary and summary["commune"]:
        chart = {
            "labels": [_("Commune"), _("Métropole") if summary["metropole_basis"] == "epci" else _("Département (repli)"),
                       _("Département")],
            "amount": [round(100 * (summary[f"share_amount_{lv}"] or 0), 1) for lv in procurement.LEVELS],
            "contracts": [round(100 * (summary[f"share_contracts_{lv}"] or 0), 1) for lv in procurement.LEVELS],
            "amountLabel": _("Part du montant (%)"), "contractsLabel": _("Part des marchés (%)"),
        }
    return render_template(
        "achats/index.html", map=render_parts(m, _static), scope=scope, basis=basis, summary=summary,
        families=families, lines=lines, rate=rate, chart=chart, args=_args(), buyers=procurement.buyers(conn),
        labels=precision_labels(), thin=procurement.THIN_SUPPLY,
        sections=[(k, sections[k], SECTION_COLORS[k]) for k in present],
    )


def _static(path: str) -> str:
    return url_for("static", filename=path)


@bp.route("/api/achats/fournisseurs.geojson")
def suppliers_feed():
    """Placed suppliers of the scope (optionally one NAF ``section``) as GeoJSON."""
    conn = get_session().connection()
    scope, _basis = _scope(conn)
    body = procurement.suppliers_geojson(conn, scope, section=request.args.get("section") or None,
                                         precision_labels=precision_labels())
    return Response(body, mimetype="application/geo+json")


@bp.route("/achats/export.<fmt>")
def export(fmt: str):
    """A buyer's contract lines (CSV), or summary, CPV families and lines (XLSX)."""
    if fmt not in EXPORT_FORMATS:
        raise NotFound(_("Format d'export inconnu : %(fmt)s", fmt=fmt))
    conn = get_session().connection()
    scope, _basis = _scope(conn)
    if not scope.buyer:
        raise InvalidInput(_("Choisir un acheteur (SIRET) pour exporter ses marchés."))
    lines = procurement.contract_lines(conn, scope)
    name = f"achats_{scope.buyer}_{stamp()}.{fmt}"
    if fmt == "csv":
        response = Response(to_csv(lines, LINE_COLUMNS), mimetype="text/csv; charset=utf-8")
    else:
        summary = procurement.summary(conn, scope)
        summary_rows = [{"key": k, "value": v} for k, v in summary.items()]
        families = procurement.by_cpv_family(conn, scope)
        response = Response(to_xlsx([
            (_("Synthèse"), ["key", "value"], [_("Indicateur"), _("Valeur")], summary_rows),
            (_("Familles CPV"), FAMILY_COLUMNS, FAMILY_COLUMNS, families),
            (_("Marchés"), LINE_COLUMNS, LINE_COLUMNS, lines),
        ]), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
