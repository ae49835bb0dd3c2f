"""Layer metadata form (CSRF-protected by Flask-WTF)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from layers.catalogue import LICENCES
from ova.models import ROLES


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LayerForm(FlaskForm):
    title = StringField(_l("Titre"), validators=[DataRequired(), Length(max=300)])
    abstract = TextAreaField(_l("Résumé"), validators=[Optional(), Length(max=5000)])
    keywords = StringField(_l("Mots-clés (séparés par des virgules)"), validators=[Optional(), Length(max=1000)])
    theme = StringField(_l("Thème"), validators=[Optional(), Length(max=100)])
    contact = StringField(_l("Contact"), validators=[Optional(), Length(max=300)])
    licence = SelectField(_l("Licence"), choices=list(LICENCES))
    attribution = StringField(_l("Attribution"), validators=[Optional(), Length(max=500)])
    update_frequency = StringField(_l("Fréquence de mise à jour"), validators=[Optional(), Length(max=50)])
    restricted_to = MultiCheckboxField(_l("Réservée aux rôles (aucun : publique)"),
                                       choices=[r for r in ROLES if r != "admin"])
    published = BooleanField(_l("Publiée"))


class PublishForm(FlaskForm):
    """Upload of a vector file as a new layer or a new version of one."""

    file = FileField(_l("Fichier (GeoJSON, GeoPackage, Shapefile zippé, CSV avec lon/lat)"),
                     validators=[FileRequired(), FileAllowed(["geojson", "json", "gpkg", "zip", "csv"])])
    title = StringField(_l("Titre"), validators=[Optional(), Length(max=300)])
    producer = SelectField(_l("Producteur"), choices=[])
    licence = SelectField(_l("Licence"), choices=list(LICENCES))
    crs = StringField(_l("Système de coordonnées si le fichier n'en déclare pas (ex. EPSG:2154)"),
                      validators=[Optional(), Length(max=40)])
    note = TextAreaField(_l("Note de version"), validators=[Optional(), Length(max=2000)])
