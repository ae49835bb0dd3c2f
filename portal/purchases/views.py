"""``/achats/a-venir``: the buyers' planned purchases (map, tables by sector and place, one page
each, Atom feeds per sector and per commune, alerts by e-mail), their editing by the buyers'
agents, and ``/achats/diagnostic``: the territorial diagnostic per CPV division.

Thin adapters over :mod:`indicators.purchases` and :mod:`indicators.diagnostic`.
"""
from __future__ import annotations

import datetime as dt
import json

import folium
from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import text

from indicators import diagnostic as diag
from indicators import procurement
from indicators import purchases
from notifications import subscriptions
from ova import ratelimit
from ova.errors import Forbidden, InvalidInput, OvaError
from ova.models import PURCHASE_STATUSES
from portal.auth.services import roles_required
from portal.database import get_session
from portal.maps import RemoteGeoJson, make_map, render_parts
from portal.purchases.forms import AlertForm, PurchaseForm

bp = Blueprint("purchases", __name__)

#: Alert requests per client address per hour (each may send confirmation messages).
ALERTS_PER_HOUR = 20
CLASS_COLORS = {"local": "#18753c", "regional": "#0063cb", "elsewhere": "#ce0500", "unknown": "#666666"}
STATUS_COLORS = {"planned": "#000091", "published": "#18753c", "awarded": "#666666", "cancelled": "#ce0500"}


def status_labels() -> dict[str, str]:
    return {"planned": _("prévu"), "published": _("avis publié"), "awarded": _("attribué"),
            "cancelled": _("abandonné")}


def class_labels() -> dict[str, str]:
    return {"local": _("local"), "regional": _("régional"), "elsewhere": _("ailleurs"), "unknown": _("inconnu")}


def _static(path: str) -> str:
    return url_for("static", filename=path)


def _number(name: str) -> float | None:
    raw = (request.args.get(name) or "").replace(" ", "").replace(",", ".")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError as err:
        raise InvalidInput(_("Montant invalide pour « %(name)s » : %(value)s", name=name, value=raw[:20])) from err


def _filters() -> purchases.Filters:
    statuses = tuple(s for s in request.args.getlist("statut") if s) or purchases.OPEN_STATUSES
    one = request.args.get("achat", "")
    return purchases.Filters(purchase_id=int(one) if one.isdigit() else None,
        buyer=(request.args.get("acheteur") or "").strip() or None,
        division=(request.args.get("division") or "").strip() or None,
        commune=(request.args.get("commune") or "").strip() or None,
        statuses=statuses, amount_min=_number("min"), amount_max=_number("max")).check()


def _args() -> dict:
    out = {k: request.args[k] for k in ("acheteur", "division", "commune", "min", "max") if request.args.get(k)}
    if request.args.getlist("statut"):
        out["statut"] = request.args.getlist("statut")
    return out


def _editor(conn) -> purchases.Editor | None:
    if not current_user.is_authenticated:
        return None
    return purchases.editor_for(conn, current_user.id, current_user.role, current_user.producer_id)


def _map(height: str = "55vh"):
    return make_map(_static, basemap_url=current_app.config["BASEMAP_URL"],
                    basemap_attribution=current_app.config["BASEMAP_ATTRIBUTION"], height=height)


def _purchase_layer(m, url: str, fit: bool = True) -> None:
    RemoteGeoJson(url, _("Achats à venir"), cluster=False, fit_bounds=fit,
                  point_style={"radius": 8, "weight": 1, "color": "#222", "fillColor": "#000091", "fillOpacity": 0.85},
                  tooltip_field="object", title_field="object",
                  popup_fields=[("buyer", _("Acheteur")), ("cpv", _("Code CPV")), ("estimate", _("Montant estimé (€ HT)")),
                                ("quarter", _("Publication prévue")), ("place", _("Lieu d'exécution"))]).add_to(m)


@bp.route("/achats/a-venir")
def index():
    """The planned purchases: filters, map, by CPV division, by place, and the list."""
    conn = get_session().connection()
    filters = _filters()
    m = _map()
    _purchase_layer(m, url_for("purchases.geojson", **_args()))
    folium.LayerControl(collapsed=True).add_to(m)
    editor = _editor(conn)
    return render_template(
        "purchases/index.html", map=render_parts(m, _static), filters=filters, args=_args(),
        rows=purchases.list_purchases(conn, filters), divisions=purchases.by_division(conn, filters),
        places=purchases.by_place(conn, filters), buyers=purchases.buyers(conn),
        families=sorted(procurement.CPV_FAMILIES.items()), statuses=status_labels(), editor=editor)


@bp.route("/api/achats/a-venir.geojson")
def geojson():
    """The planned purchases of the filters as GeoJSON (WGS 84)."""
    conn = get_session().connection()
    return Response(purchases.geojson(conn, _filters()), mimetype="application/geo+json")


@bp.route("/achats/a-venir/<int:purchase_id>")
def show(purchase_id: int):
    """One planned purchase: what, who, when, where, how much, its notice and its DECP record."""
    conn = get_session().connection()
    purchase = purchases.get(conn, purchase_id)
    m = _map("40vh")
    _purchase_layer(m, url_for("purchases.geojson", statut=list(PURCHASE_STATUSES), achat=purchase_id))
    contract = None
    if purchase["decp_id"]:
        contract = conn.execute(text(
            "SELECT decp_id, min(object) AS object, min(notified_on) AS notified_on, sum(amount) AS amount, "
            "string_agg(DISTINCT coalesce(supplier_name, supplier_id), ', ') AS suppliers "
            "FROM public_contracts WHERE decp_id = :d GROUP BY decp_id"), {"d": purchase["decp_id"]}).mappings().first()
    editor = _editor(conn)
    may_edit = bool(editor and editor.may_edit(purchase["buyer_siret"]))
    candidates = purchases.decp_candidates(conn, purchase) if may_edit and purchase["status"] != "awarded" else []
    return render_template("purchases/show.html", p=purchase, map=render_parts(m, _static), contract=contract,
                           statuses=status_labels(), may_edit=may_edit, candidates=candidates)


def _form_values(form: PurchaseForm) -> dict:
    return {name: getattr(form, name).data for name in purchases.COLUMNS}


def _edit(purchase_id: int | None):
    session = get_session()
    conn = session.connection()
    editor = _editor(conn)
    purchase = purchases.get(conn, purchase_id) if purchase_id is not None else None
    if purchase is not None and not editor.may_edit(purchase["buyer_siret"]):
        raise Forbidden(_("Vous ne pouvez modifier que les achats prévus de votre acheteur."))
    form = PurchaseForm(data=purchase or {"buyer_siret": editor.buyer_siret, "status": "planned"})
    form.status.choices = [(k, v) for k, v in status_labels().items()]
    geometry = None
    if purchase is not None and purchase["place_basis"] == "drawn":
        geometry = conn.scalar(text("SELECT ST_AsGeoJSON(ST_Transform(geom, 4326), 6) FROM planned_purchases "
                                    "WHERE id = :id"), {"id": purchase_id})
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 400
        else:
            try:
                new_id = purchases.save(conn, editor, _form_values(form), purchase_id=purchase_id,
                                        area=form.geometry.data or ("" if purchase_id else None))
            except OvaError as err:
                session.rollback()
                flash(err.message, "danger")
                status = err.status
            else:
                session.commit()
                flash(_("Achat prévu enregistré."), "success")
                return redirect(url_for("purchases.show", purchase_id=new_id))
    if request.method == "POST" and form.geometry.data:
        try:  # a refused form keeps what was drawn (valid JSON only: it is written into a script tag)
            geometry = json.dumps(json.loads(form.geometry.data)).replace("<", "\\u003c")
        except ValueError:
            pass
    return render_template("purchases/edit.html", form=form, purchase=purchase, editor=editor,
                           geometry=geometry), status


@bp.route("/achats/a-venir/nouveau", methods=["GET", "POST"])
@roles_required("agent")
def new():
    """Enter a planned purchase of the agent's buyer."""
    return _edit(None)


@bp.route("/achats/a-venir/<int:purchase_id>/modifier", methods=["GET", "POST"])
@roles_required("agent")
def edit(purchase_id: int):
    """Edit a planned purchase of the agent's buyer (status, notice link, DECP record…)."""
    return _edit(purchase_id)


# --- Atom feeds --------------------------------------------------------------------------------

def _feed(title: str, filters: purchases.Filters) -> Response:
    conn = get_session().connection()
    entries = purchases.list_purchases(conn, filters, limit=100)
    entries.sort(key=lambda e: e["updated_at"], reverse=True)
    updated = max((e["updated_at"] for e in entries), default=dt.datetime.now(dt.timezone.utc))
    body = render_template("purchases/feed.atom", title=title, entries=entries, updated=updated,
                           self_url=request.url, statuses=status_labels())
    return Response(body, mimetype="application/atom+xml")


def _feed_buyer() -> str | None:
    """A feed shows every buyer of the territory, or one (``?acheteur=SIRET``)."""
    return (request.args.get("acheteur") or "").strip() or None


@bp.route("/achats/a-venir/secteur/<division>.atom")
def division_feed(division: str):
    """Atom feed of the planned purchases of one CPV division (every status: a change is news)."""
    filters = purchases.Filters(division=division, statuses=PURCHASE_STATUSES, buyer=_feed_buyer()).check()
    return _feed(_("achats à venir — %(label)s (CPV %(division)s)", label=purchases.division_label(division),
                   division=division), filters)


@bp.route("/achats/a-venir/commune/<insee>.atom")
def commune_feed(insee: str):
    """Atom feed of the planned purchases executed in one commune."""
    filters = purchases.Filters(commune=insee, statuses=PURCHASE_STATUSES, buyer=_feed_buyer()).check()
    return _feed(_("achats à venir — commune %(insee)s", insee=insee), filters)


# --- alerts -------------------------------------------------------------------------------------

@bp.route("/achats/a-venir/alertes", methods=["GET", "POST"])
def alerts():
    """A firm subscribes to CPV divisions and communes: an address (double opt-in) or its account."""
    session = get_session()
    conn = session.connection()
    form = AlertForm()
    form.divisions.choices = [(code, f"{code} – {label}") for code, label in sorted(procurement.CPV_FAMILIES.items())]
    if request.method == "GET":
        form.locale.data = str(get_locale())
        if request.args.get("division"):
            form.divisions.data = [request.args["division"]]
        if request.args.get("commune"):
            form.communes.data = request.args["commune"]
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 400
        else:
            communes = [c.strip() for c in (form.communes.data or "").replace(";", ",").split(",") if c.strip()]
            selections = [subscriptions.Selection("cpv_division", d) for d in form.divisions.data or []] + \
                [subscriptions.Selection("commune", c) for c in communes]
            try:
                if not selections:
                    raise InvalidInput(_("choisissez au moins une division CPV ou une commune"))
                if len(selections) > 20:
                    raise InvalidInput(_("20 abonnements au plus à la fois"))
                labels = []
                if current_user.is_authenticated:
                    for selection in selections:
                        sub = subscriptions.subscribe(conn, selection, user_id=current_user.id, locale=form.locale.data)
                        labels.append(subscriptions.describe(conn, sub, str(get_locale())))
                    confirmed = True
                else:
                    key = ratelimit.client_hash(current_app.config["SECRET_KEY"], request.remote_addr)
                    if key:
                        hits, retry = ratelimit.count_hit(conn, "subscribe", key, dt.timedelta(hours=1))
                        if hits > ALERTS_PER_HOUR:
                            raise ratelimit.RateLimited(_("trop de demandes d'abonnement depuis cette connexion ; "
                                                          "réessayez plus tard"), retry_after=retry)
                    for selection in selections:
                        sub = subscriptions.subscribe(conn, selection, email=form.email.data, locale=form.locale.data)
                        labels.append(subscriptions.describe(conn, sub, str(get_locale())))
                    confirmed = False
            except OvaError as err:
                session.rollback()
                flash(_("Abonnement refusé : %(reason)s", reason=err.message), "danger")
                status = err.status
            else:
                session.commit()
                return render_template("notifications/subscribed.html", label=", ".join(labels),
                                       confirmed=confirmed), 201
    return render_template("purchases/alerts.html", form=form), status


# --- territorial diagnostic ------------------------------------------------------------------------

def _territory(conn) -> tuple[diag.Territory, str | None]:
    buyer = (request.args.get("acheteur") or "").strip() or None
    buyers = (buyer,) if buyer else (tuple(diag.territory_buyers(conn)) or None)
    commune = (request.args.get("commune") or "").strip() or None
    basis = "form" if commune else None
    if not commune:
        for siret in buyers or ():
            commune, basis = procurement.buyer_commune(conn, siret)
            if commune:
                break
    return diag.Territory(buyers=buyers, commune=commune), basis


@bp.route("/achats/diagnostic")
def diagnostic():
    """Per CPV division: past spend local/regional/elsewhere, local firms, coming purchases, strategic sectors."""
    conn = get_session().connection()
    territory, basis = _territory(conn)
    result = chart = None
    division = (request.args.get("division") or "").strip() or None
    m = _map("50vh")
    if territory.commune:
        result = diag.diagnostic(conn, territory)
        chart = diag.chart_data(result, class_labels())
        chart["colors"] = CLASS_COLORS
        args = {k: request.args[k] for k in ("acheteur", "commune") if request.args.get(k)}
        for index, (cls, label) in enumerate(class_labels().items()):
            if cls == "unknown":
                continue
            RemoteGeoJson(url_for("purchases.diagnostic_geojson", classe=cls, division=division, **args),
                          _("Titulaires : %(label)s", label=label), cluster=False, fit_bounds=index == 0,
                          point_style={"radius": 6, "weight": 1, "color": "#222", "fillColor": CLASS_COLORS[cls],
                                       "fillOpacity": 0.85},
                          tooltip_field="name", title_field="name",
                          popup_fields=[("commune", _("Commune (INSEE)")), ("divisions", _("Divisions CPV")),
                                        ("amount", _("Montant attribué (€ HT)"))]).add_to(m)
        _purchase_layer(m, url_for("purchases.geojson", **({"acheteur": territory.buyers[0]}
                                                           if request.args.get("acheteur") else {})), fit=False)
    folium.LayerControl(collapsed=True).add_to(m)
    return render_template("purchases/diagnostic.html", result=result, chart=chart, territory=territory, basis=basis,
                           map=render_parts(m, _static), buyers=purchases.buyers(conn), args=request.args,
                           classes=class_labels(), colors=CLASS_COLORS, leak=diag.STRATEGIC_LEAK,
                           min_firms=diag.STRATEGIC_MIN_FIRMS, division=division)


@bp.route("/api/achats/diagnostic.geojson")
def diagnostic_geojson():
    """The territory's placed suppliers (optionally one class, one CPV division) as GeoJSON."""
    conn = get_session().connection()
    territory, _basis = _territory(conn)
    if not territory.commune:
        raise InvalidInput(_("indiquez la commune de référence (code INSEE) du diagnostic"))
    body = diag.suppliers_geojson(conn, territory, division=request.args.get("division") or None)
    wanted = request.args.get("classe")
    if wanted:
        data = json.loads(body)
        data["features"] = [f for f in data["features"] if f["properties"]["class"] == wanted]
        body = json.dumps(data)
    return Response(body, mimetype="application/geo+json")
