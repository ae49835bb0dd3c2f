"""Forms of the zone editor (CSRF-protected by Flask-WTF)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import DateField, HiddenField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional


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
