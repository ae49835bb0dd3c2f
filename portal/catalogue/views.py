"""Catalogue pages: searchable list, a page per layer, metadata editing and the Atom feed."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from layers.catalogue import (LICENCE_URLS, ANONYMOUS, cached_stats, can_edit, get_layer, list_layers,
                              source_of)
from ova import audit, settings
from ova.models import Layer, Producer
from portal.catalogue.access import current_reader
from portal.catalogue.forms import LayerForm
from portal.catalogue.links import DOWNLOADS, catalogue_links, layer_links, publisher_name
from portal.database import get_session
from portal.maps import RemoteGeoJson, make_map, render_parts

bp = Blueprint("catalogue", __name__)


@bp.record_once
def _defaults(state) -> None:
    """Settings of this blueprint, read once when the app is built (env → app config)."""
    app = state.app
    app.config.setdefault("DOWNLOAD_CACHE_DIR", settings.env("OVA_DOWNLOAD_CACHE_DIR")
                          or str(Path(app.instance_path) / "downloads"))



def _static(path: str) -> str:
    return url_for("static", filename=path)


@bp.route("")
def index():
    session = get_session()
    reader = current_reader()
    q = request.args.get("q", "").strip()[:200]
    producer = request.args.get("producer", "").strip()[:64]
    theme = request.args.get("theme", "").strip()[:100]
    layers = list_layers(session, reader, q=q or None, producer=producer or None, theme=theme or None)
    every = list_layers(session, reader)
    producers = session.execute(select(Producer.slug, Producer.name).order_by(Producer.name)).all()
    themes = sorted({layer.theme for layer in every if layer.theme})
    return render_template("catalogue/index.html", layers=layers, producers=producers, themes=themes,
                           q=q, producer=producer, theme=theme)


@bp.route("/<slug>")
def layer_page(slug):
    session = get_session()
    reader = current_reader()
    layer = get_layer(session, slug, reader)
    conn = session.connection()
    source = source_of(conn, layer)
    stats = cached_stats(conn, layer, source)
    bounds = None
    if stats["bbox"]:
        minx, miny, maxx, maxy = stats["bbox"]
        bounds = [[miny, minx], [maxy, maxx]]
    m = make_map(_static, basemap_url=current_app.config["BASEMAP_URL"],
                 basemap_attribution=current_app.config["BASEMAP_ATTRIBUTION"], bounds=bounds, height="360px")
    props = list(source.columns)[:6]
    RemoteGeoJson(url_for("ogc.collection_items", slug=slug, limit=1000, f="json"), layer.title,
                  style={"color": "#000091", "weight": 1, "fillOpacity": 0.1},
                  title_field=props[0] if props else None,
                  popup_fields=[(p, p) for p in props[1:]]).add_to(m)
    return render_template("catalogue/layer.html", layer=layer, stats=stats, source=source,
                           map=render_parts(m, _static), downloads=DOWNLOADS,
                           licence_url=LICENCE_URLS.get(layer.licence), editable=can_edit(layer, reader))


@bp.route("/<slug>/edit", methods=["GET", "POST"])
def edit(slug):
    session = get_session()
    reader = current_reader()
    if reader.role is None:
        from portal.auth.services import login_manager

        return login_manager.unauthorized()
    layer = session.scalar(select(Layer).where(Layer.slug == slug))
    if layer is None:
        abort(404)
    if not can_edit(layer, reader):
        abort(403)
    form = LayerForm(obj=layer)
    from layers.metadata import THEMES

    form.theme.choices = [SelectChoice("", "—"), *(SelectChoice(t, t) for t in THEMES),
                          *([SelectChoice(layer.theme, layer.theme)] if layer.theme and layer.theme not in THEMES else [])]
    if request.method == "GET":
        form.keywords.data = ", ".join(layer.keywords or [])
    if form.validate_on_submit():
        before = audit.snapshot(layer)
        layer.title = form.title.data.strip()
        layer.abstract = form.abstract.data or None
        layer.keywords = [k.strip() for k in (form.keywords.data or "").split(",") if k.strip()]
        layer.theme = form.theme.data or None
        layer.contact = form.contact.data or None
        layer.licence = form.licence.data
        layer.attribution = form.attribution.data or None
        layer.update_frequency = form.update_frequency.data or None
        layer.restricted_to = list(form.restricted_to.data or [])
        layer.published = bool(form.published.data)
        session.flush()
        after = audit.snapshot(layer)
        if audit.changed(before, after):
            from flask_login import current_user

            audit.record(session, current_user.id if current_user.is_authenticated else None,
                         "layers", layer.id, "update", before, after)
        session.commit()
        flash(_("Métadonnées enregistrées."), "success")
        return redirect(url_for("catalogue.layer_page", slug=slug))
    return render_template("catalogue/edit.html", layer=layer, form=form)


@bp.route("/feed.atom")
def feed():
    """Atom feed of the public layers, most recently updated first."""
    layers = sorted(list_layers(get_session(), ANONYMOUS), key=lambda layer: layer.last_update, reverse=True)
    updated = max((layer.last_update for layer in layers), default=dt.datetime.now(dt.timezone.utc))
    body = render_template("catalogue/feed.atom", layers=layers[:100], updated=updated)
    return Response(body, mimetype="application/atom+xml")


def _meta(layer):
    from layers.downloads import Meta

    return Meta(slug=layer.slug, title=layer.title, licence=layer.licence, attribution=layer.attribution,
                producer=layer.producer.name, licence_url=LICENCE_URLS.get(layer.licence))


@bp.route("/<slug>/download.<fmt>")
def download(slug, fmt):
    """Download a layer as GeoJSON, CSV, GeoPackage or zipped Shapefile (streamed)."""
    from layers.downloads import FORMATS, TEXT_WRITERS, cache_key, cached_file
    from portal.catalogue.streaming import stream_with_connection

    if fmt not in FORMATS:
        abort(404)
    session = get_session()
    layer = get_layer(session, slug, current_reader())
    source = source_of(session.connection(), layer)
    meta = _meta(layer)
    mimetype, ext, kind = FORMATS[fmt]
    headers = {"Content-Disposition": f'attachment; filename="{slug}.{ext}"',
               "Cache-Control": "private, no-store" if layer.restricted_to else "public, max-age=60"}
    if meta.licence_url:
        headers["Link"] = f'<{meta.licence_url}>; rel="license"'
    if kind == "text":
        extra = {"geometry": request.args.get("geometry", "auto")} if fmt == "csv" else {}
        if extra.get("geometry") not in (None, "auto", "wkt", "lonlat"):
            abort(400)
        gen = stream_with_connection(TEXT_WRITERS[fmt], source, meta, **extra)
        return Response(gen, mimetype=mimetype, headers=headers)
    key = cache_key((layer.id, layer.data_version, layer.last_update), source, meta, fmt)
    path = cached_file(session.connection(), source, meta, fmt, Path(current_app.config["DOWNLOAD_CACHE_DIR"]), key)
    resp = send_file(path, mimetype=mimetype, as_attachment=True, download_name=f"{slug}.{ext}", etag=key,
                     conditional=True, max_age=None)
    resp.headers.update(headers)
    return resp


def _publish_form(reader, layer=None):
    from portal.catalogue.forms import PublishForm, VersionForm

    form = PublishForm() if layer is None else VersionForm()
    producers = get_session().execute(select(Producer.slug, Producer.name, Producer.id).order_by(Producer.name)).all()
    if layer is not None:
        producers = [p for p in producers if p.id == layer.producer_id]
    elif not reader.is_admin:
        producers = [p for p in producers if p.id == reader.producer_id]
    form.producer.choices = [SelectChoice(p.slug, p.name) for p in producers]
    return form


@bp.route("/publish", methods=["GET", "POST"], defaults={"slug": None})
@bp.route("/<slug>/publish", methods=["GET", "POST"])
def publish(slug):
    """Upload a vector file as a new layer (or a new version of ``slug``): agents and admins."""
    import tempfile
    from pathlib import Path

    from flask_login import current_user
    from werkzeug.utils import secure_filename

    from layers.publish import publish as publish_file
    from ova.errors import OvaError
    from portal.auth.services import login_manager
    from portal.database import get_bind

    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    reader = current_reader()
    if reader.role not in ("agent", "admin"):
        abort(403)
    session = get_session()
    layer = None
    if slug is not None:
        layer = session.scalar(select(Layer).where(Layer.slug == slug))
        if layer is None:
            abort(404)
        if not can_edit(layer, reader):
            abort(403)
    form = _publish_form(reader, layer)
    if form.validate_on_submit():
        upload = form.file.data
        name = secure_filename(upload.filename or "upload") or "upload"
        with tempfile.TemporaryDirectory(prefix="ova-up-") as tmp:
            path = Path(tmp) / name
            upload.save(path)
            try:
                done = publish_file(get_bind(), path, producer=form.producer.data, title=form.title.data or None,
                                    slug=slug, note=form.note.data or None, crs=form.crs.data or None,
                                    licence=form.licence.data, user_id=current_user.id, filename=name,
                                    max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
                                    keywords=form.keywords.data or None, theme=form.theme.data or None,
                                    contact=form.contact.data or None,
                                    source_layer=form.source_layer.data or None,
                                    free_text=form.free_text.data or None)
                session.commit()
            except OvaError as err:
                session.rollback()
                flash(err.message, "danger")
                return render_template("catalogue/publish.html", form=form, layer=layer), err.status
        flash(_("Couche publiée : %(n)s objets, version %(v)s.", n=done.features, v=done.version), "success")
        if done.masked:
            flash(_("Données personnelles masquées dans %(n)s valeurs de texte libre.", n=done.masked), "info")
        return redirect(url_for("catalogue.layer_page", slug=done.slug))
    return render_template("catalogue/publish.html", form=form, layer=layer)


def public_entries():
    """[(layer, stats, facts)] of the layers anyone may harvest (public and published)."""
    from layers.metadata import layer_facts

    session = get_session()
    conn = session.connection()
    entries = []
    for layer in list_layers(session, ANONYMOUS):
        source = source_of(conn, layer)
        stats = cached_stats(conn, layer, source)
        entries.append((layer, stats, layer_facts(conn, layer, source, stats)))
    return entries


def _dcat_graph():
    from layers.dcat import catalogue_graph

    return catalogue_graph(public_entries(), links=catalogue_links(), title=_("Catalogue du Portail OVA"),
                           description=_("Couches publiées par les producteurs publics d'information."),
                           publisher=publisher_name(), layer_links=layer_links)


@bp.route("/<slug>/iso19139.xml")
def iso_record(slug):
    """The layer's ISO 19139 metadata record (the document the CSW serves), as a download."""
    from layers.iso19139 import iso_record as build
    from layers.metadata import layer_facts

    session = get_session()
    layer = get_layer(session, slug, current_reader())
    conn = session.connection()
    source = source_of(conn, layer)
    stats = cached_stats(conn, layer, source)
    body = build(layer, stats, layer_facts(conn, layer, source, stats), layer_links(layer))
    return Response(body, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{slug}-iso19139.xml"',
        "Cache-Control": "private, no-store" if layer.restricted_to else "public, max-age=60"})


@bp.route("/dcat.jsonld")
def dcat_jsonld():
    """The public catalogue as DCAT-AP JSON-LD."""
    return Response(_dcat_graph().serialize(format="json-ld", auto_compact=True), mimetype="application/ld+json")


@bp.route("/dcat.ttl")
def dcat_turtle():
    """The public catalogue as DCAT-AP Turtle."""
    return Response(_dcat_graph().serialize(format="turtle"), mimetype="text/turtle")
