"""``/indicateurs``: choropleth, comparison table, 12-month trend and exports of territory indicators."""
from __future__ import annotations

from branca.element import Element, MacroElement
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from jinja2 import Template

from indicators import territory
from indicators.exports import stamp, to_csv, to_xlsx
from indicators.suppression import COUNT_COLUMNS, INDICATORS, PLAIN_COLUMNS
from layers.quartiers import commune_extent, main_commune
from ova.errors import InvalidInput, NotFound
from portal.database import get_session
from portal.indicators.services import check_level, sees_detail, threshold
from portal.maps import make_map, render_parts

bp = Blueprint("indicators", __name__, static_folder="static", static_url_path="/indicateurs/static")

LEVELS = ("quartier", "zone")
EXPORT_FORMATS = ("csv", "xlsx")


class Choropleth(MacroElement):
    """A choropleth of units fetched from ``url``, restyled by the page's indicator selector."""

    _template = Template(
        """{% macro script(this, kwargs) %}
var {{ this.get_name() }} = OVA_IND.choropleth({{ this._parent.get_name() }}, {{ this.options|tojson }});
{% endmacro %}"""
    )

    def __init__(self, options: dict):
        super().__init__()
        self._name = "Choropleth"
        self.options = options


def _static(path: str) -> str:
    return url_for("static", filename=path)


def _label(key: str) -> str:
    ind = INDICATORS.get(key)
    if ind is None:
        return key
    return ind.label_en if str(get_locale()) == "en" else ind.label_fr


def _level() -> str:
    level = request.args.get("niveau", "quartier")
    if level not in LEVELS:
        raise InvalidInput(_("Niveau inconnu : %(level)s", level=level))
    check_level(level)
    return level


def _indicator() -> str:
    key = request.args.get("indicateur", "incidents")
    if key not in INDICATORS:
        raise InvalidInput(_("Indicateur inconnu : %(key)s", key=key))
    return key


@bp.route("/indicateurs")
def index():
    """The indicators page."""
    session = get_session()
    level, indicator, detail = _level(), _indicator(), sees_detail()
    sort = request.args.get("tri", "name")
    descending = request.args.get("ordre") == "desc"
    conn = session.connection()
    table = territory.rows(conn, unit_kind=level, detail=detail, threshold=threshold(), sort=sort,
                           descending=descending)
    selected = request.args.get("unite") or (table[0]["code"] if table else None)
    trend = []
    if selected:
        try:
            trend = territory.trend(conn, selected, unit_kind=level, detail=detail, threshold=threshold())
        except NotFound:
            selected, trend = None, []
    m = make_map(_static, basemap_url=current_app.config["BASEMAP_URL"],
                 basemap_attribution=current_app.config["BASEMAP_ATTRIBUTION"],
                 bounds=commune_extent(session, main_commune(session, request.args.get("commune"),
                                                             current_app.config.get("TERRITORY_NAME"))))
    m.get_root().header.add_child(Element(
        f'<script src="{url_for("indicators.static", filename="indicators.js")}"></script>'), name="ova_ind_js")
    labels = {k: _label(k) for k in INDICATORS}
    Choropleth({
        "url": url_for("indicators.geojson", niveau=level), "selectId": "indicator-select",
        "indicators": {k: {"label": labels[k], "decimals": INDICATORS[k].decimals} for k in INDICATORS},
        "initial": indicator, "fit": False,  # the map opens on one commune, not on the whole territory
        "texts": {"suppressed": _("secret statistique (moins de %(n)s cas)", n=threshold()),
                  "noData": _("sans donnée"), "legend": _("Légende")},
    }).add_to(m)
    chart = {
        "labels": [r["period_start"].strftime("%Y-%m") for r in trend],
        "values": [None if r[indicator] is None else float(r[indicator]) for r in trend],
        "label": labels[indicator],
    }
    columns = [k for k in INDICATORS if k != "norms_met_share"]
    headers = [("code", _("Code")), ("name", _("Nom")), ("commune", _("Commune"))] + [(k, labels[k]) for k in columns]
    return render_template(
        "indicators/index.html", map=render_parts(m, _static), rows=table, columns=columns, headers=headers, labels=labels,
        indicator=indicator, level=level, levels=LEVELS if detail else ("quartier",), detail=detail,
        sort=sort, descending=descending, selected=selected, trend=trend, chart=chart,
        threshold=threshold(), period=territory.reference_period(conn),
        decimals={k: INDICATORS[k].decimals for k in INDICATORS},
    )


@bp.route("/api/indicateurs/unites.geojson")
def geojson():
    """Units with their 12-month indicators (suppressed unless the role sees detail), as GeoJSON."""
    level = _level()
    body = territory.geojson(get_session().connection(), unit_kind=level, detail=sees_detail(),
                             threshold=threshold())
    response = Response(body, mimetype="application/geo+json")
    response.headers["Cache-Control"] = "private, no-store" if sees_detail() else "public, max-age=300"
    response.vary.add("Cookie")
    return response


EXPORT_COLUMNS = ["code", "name", "commune", "period_start", "period_end", *PLAIN_COLUMNS, *COUNT_COLUMNS,
                  *[k for k in INDICATORS if k not in COUNT_COLUMNS], "suppressed"]


@bp.route("/indicateurs/export.<fmt>")
def export(fmt: str):
    """The comparison table (``periode`` 12m or month) as CSV or XLSX, suppressed unless detail."""
    if fmt not in EXPORT_FORMATS:
        raise NotFound(_("Format d'export inconnu : %(fmt)s", fmt=fmt))
    level = _level()
    period = request.args.get("periode", "12m")
    detail = sees_detail()
    rows = territory.rows(get_session().connection(), unit_kind=level, period_kind=period, detail=detail,
                          threshold=threshold(), sort="code")
    name = f"indicateurs_{level}_{period}_{'detail' if detail else 'public'}_{stamp()}.{fmt}"
    if fmt == "csv":
        response = Response(to_csv(rows, EXPORT_COLUMNS), mimetype="text/csv; charset=utf-8")
    else:
        headers = [_label(c) if c in INDICATORS else c for c in EXPORT_COLUMNS]
        notes = [{"note": _("Niveau : %(level)s ; période : %(period)s", level=level, period=period)},
                 {"note": _("Chiffres détaillés, non masqués : ne pas diffuser.") if detail else
                  _("Les effectifs inférieurs à %(n)s sont masqués (secret statistique), ainsi que les taux "
                    "calculés à partir d'eux ; la colonne « suppressed » les liste.", n=threshold())}]
        response = Response(to_xlsx([(_("Indicateurs"), EXPORT_COLUMNS, headers, rows),
                                     (_("Notes"), ["note"], [_("Note")], notes)]),
                            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
