"""Portail OVA web application (Flask). ``create_app`` builds it; nothing happens at import."""
from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel
from flask_babel import gettext as babel_gettext
from flask_wtf import CSRFProtect

from ova import i18n, settings
from portal import config as default_config

ROOT = Path(__file__).resolve().parent.parent

#: Blueprints of the portal, registered in this order: (dotted path of the blueprint, URL prefix).
BLUEPRINTS = (
    ("portal.home.views:bp", None),
    ("portal.auth.views:bp", None),
    ("portal.indicators.views:bp", None),
    ("portal.achats.views:bp", None),
    ("portal.purchases.views:bp", None),
    ("portal.incidents.views:bp", "/incidents"),
    ("portal.adresse.views:bp", "/api/adresse"),
    ("portal.open311.views:bp", "/open311/v2"),
    ("portal.ogc.views:bp", "/ogc"),
    ("portal.catalogue.views:bp", "/catalogue"),
    ("portal.tiles.views:bp", "/tiles"),
    ("portal.csw.views:bp", "/csw"),
    ("portal.basemap.views:bp", "/basemap"),
    ("portal.quartiers.views:bp", None),
    ("portal.norms.views:bp", "/normes"),
    ("portal.zones.views:bp", "/zones"),
    ("portal.admin.views:bp", "/admin"),
    ("portal.accessibility.views:bp", None),
    ("portal.moderation.views:bp", "/moderation"),
    ("portal.privacy.views:bp", None),
    ("portal.notifications.views:bp", None),
)

class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building a signer for requests that send no cookie
    (API clients, tiles): an empty session is all they could get."""

    def open_session(self, app, request):
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


csrf = CSRFProtect()
babel = Babel()


def _select_locale() -> str:
    from flask import current_app

    # French first, whatever the browser says: English only when the visitor chose it.
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _secret_key(app: Flask) -> str:
    """A persistent random key kept in the instance folder when SECRET_KEY is not configured."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _import(dotted: str):
    module_name, _, attr = dotted.partition(":")
    module = __import__(module_name, fromlist=[attr])
    return getattr(module, attr)


def create_app(config: dict | None = None) -> Flask:
    """Build the portal: defaults → OVA_SETTINGS file → environment → ``config`` overrides."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"),
                instance_path=settings.env("OVA_INSTANCE_PATH") or str(ROOT / "var" / "instance"))
    app.config.from_object(default_config.DefaultConfig)
    if settings.env("OVA_SETTINGS"):
        app.config.from_pyfile(settings.env("OVA_SETTINGS"))
    # Dates on the pages in the territory's time zone (OVA_TIMEZONE), like every computation.
    app.config["BABEL_DEFAULT_TIMEZONE"] = settings.timezone_name()
    app.config.update(settings.portal_settings())
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app)
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_UPLOAD_MB"] * 1024 * 1024
    app.session_interface = _SessionInterface()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from portal import database, errors, security, urls
    from portal.auth.services import login_manager

    urls.init_app(app)
    database.init_app(app)
    errors.init_app(app)
    from portal.ogc.fast import ItemsFastPath

    # Inside ProxyFix (added by security.init_app): the forwarded address and scheme are applied.
    app.wsgi_app = ItemsFastPath(app, app.wsgi_app)
    security.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale,
                   default_translation_directories=str(ROOT / "portal" / "translations"))
    # Domain packages (incidents, …) mark messages through ova.i18n; the portal translates them.
    i18n.install(babel_gettext)

    from portal.cli import register

    register(app)
    for dotted, prefix in BLUEPRINTS:
        app.register_blueprint(_import(dotted), url_prefix=prefix)

    @app.before_request
    def _remember_language():
        if request.args.get("lang") in app.config["LANGUAGES"]:
            session["lang"] = request.args["lang"]

    @app.context_processor
    def _template_globals():
        from flask_babel import get_locale

        from ova.territory import current

        # The territory (its country decides which French data sources the pages mention).
        return {"current_locale": str(get_locale()), "territory": current()}

    return app
