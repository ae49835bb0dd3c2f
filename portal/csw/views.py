"""CSW 2.0.2 discovery service at /csw (pycsw over the layers' ISO 19139 records)."""
from __future__ import annotations

from flask import Blueprint, Response, request
from flask_babel import gettext as _

from layers.csw import pycsw_config, serve, sync_records
from portal import csrf
from portal.catalogue.links import layer_links, publisher_name
from portal.database import get_session
from portal.urls import external_url

bp = Blueprint("csw", __name__)


def sync(session) -> dict:
    """Rebuild the records whose layer changed, then commit (see ``layers.csw.sync_records``)."""
    from portal.catalogue.views import public_entries

    counts = sync_records(session.connection(), public_entries(), layer_links)
    if counts["built"] or counts["removed"]:
        session.commit()
    return counts


@bp.route("", methods=["GET", "POST"], strict_slashes=False)
@csrf.exempt
def endpoint():
    """GetCapabilities, DescribeRecord, GetRecords, GetRecordById, GetDomain (CSW 2.0.2, ISO AP)."""
    session = get_session()
    sync(session)
    url = external_url("csw.endpoint")
    config = pycsw_config(url=url, title=_("Portail OVA — catalogue des couches (CSW)"),
                          abstract=_("Fiches ISO 19139 des couches publiées par les producteurs publics "
                                     "d'information, moissonnables en CSW 2.0.2."),
                          publisher=publisher_name(), home=external_url("catalogue.index"), email=None)
    environ = dict(request.environ)
    if request.method == "POST":
        import io

        body = request.get_data()
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
    status, body, mimetype = serve(session.connection(), environ, config)
    return Response(body, status=int(status.split()[0]), content_type=mimetype)
