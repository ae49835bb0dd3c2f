"""Forms of the zone editor (CSRF-protected by Flask-WTF)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import DateField, HiddenField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from norms.zone_suggestions import Parameters
from portal.fields import BoundedIntegerField


class ZoneForm(FlaskForm):
    code = StringField(_l("Code de la zone"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=200)])
    valid_from = DateField(_l("Valable à partir du"), validators=[InputRequired()])
    geometry = HiddenField(validators=[Optional()])
    upload = FileField(_l("…ou un fichier GeoJSON (WGS 84)"),
                       validators=[Optional(), FileAllowed(["geojson", "json"], _l("GeoJSON seulement"))])


class VersionForm(FlaskForm):
    valid_from = DateField(_l("Nouvelle version valable à partir du"), validators=[InputRequired()])


class ConfirmForm(FlaskForm):
    """An empty form: only its CSRF token matters (approve)."""


def _distance():
    return BoundedIntegerField(_l("Distance entre établissements voisins (m)"), default=Parameters.distance,
                        validators=[InputRequired(), NumberRange(*Parameters.DISTANCE_RANGE)])


def _min_points():
    return BoundedIntegerField(_l("Établissements au minimum par pôle"), default=Parameters.min_points,
                        validators=[InputRequired(), NumberRange(*Parameters.MIN_POINTS_RANGE)])


class SuggestionForm(FlaskForm):
    """Parameters of the candidate zones (a GET form: nothing is written, no CSRF token)."""

    class Meta:
        csrf = False

    distance = _distance()
    min_points = _min_points()


class SuggestionDraftForm(FlaskForm):
    """Turn the candidate of establishment ``seed`` into a draft zone version (CSRF-protected)."""

    seed = BoundedIntegerField(validators=[InputRequired()])
    distance = _distance()
    min_points = _min_points()
