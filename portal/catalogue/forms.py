"""Layer metadata form (CSRF-protected by Flask-WTF)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from layers.catalogue import LICENCES
from layers.metadata import THEMES
from ova.models import ROLES


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LayerForm(FlaskForm):
    title = StringField(_l("Titre"), validators=[DataRequired(), Length(max=300)])
    abstract = TextAreaField(_l("Résumé"), validators=[Optional(), Length(max=5000)])
    keywords = StringField(_l("Mots-clés (séparés par des virgules)"), validators=[Optional(), Length(max=1000)])
    theme = SelectField(_l("Thème"), choices=[], validators=[Optional()],
                        description=_l("Le thème européen (data-theme) sous lequel les catalogues classent la couche."))
    contact = StringField(_l("Contact"), validators=[Optional(), Length(max=300)])
    licence = SelectField(_l("Licence"), choices=list(LICENCES))
    attribution = StringField(_l("Attribution"), validators=[Optional(), Length(max=500)])
    update_frequency = StringField(_l("Fréquence de mise à jour"), validators=[Optional(), Length(max=50)])
    restricted_to = MultiCheckboxField(_l("Réservée aux rôles (aucun : publique)"),
                                       choices=[r for r in ROLES if r != "admin"])
    published = BooleanField(_l("Publiée"))


#: The themes a producer picks from (no choice first: the form asks for one).
THEME_CHOICES = [SelectChoice("", "—"), *(SelectChoice(t, t) for t in THEMES)]
WHY_KEYWORDS = _l("Obligatoire : data.gouv.fr, les infrastructures de données régionales (CSW) et INSPIRE "
                  "trouvent les couches par leurs mots-clés.")
WHY_THEME = _l("Obligatoire : il donne le thème européen (data-theme) sous lequel les catalogues classent la couche.")
WHY_LICENCE = _l("Obligatoire : sans licence, une donnée n'est pas réutilisable ; les moissonneurs reconnaissent "
                 "ces deux licences.")
WHY_CONTACT = _l("Obligatoire : l'adresse à laquelle les utilisateurs écrivent au sujet de la couche "
                 "(point de contact de la fiche ISO 19139 et du DCAT).")


class PublishForm(FlaskForm):
    """Upload of a vector file as a new layer or a new version of one."""

    file = FileField(_l("Fichier (GeoJSON, GeoPackage, Shapefile zippé, KML/KMZ, FlatGeobuf, GML, CSV ou "
                        "tableur XLSX/ODS avec lon/lat)"),
                     validators=[FileRequired(), FileAllowed(["geojson", "json", "gpkg", "zip", "csv", "kml", "kmz",
                                                              "fgb", "gml", "xlsx", "xlsm", "ods"])])
    title = StringField(_l("Titre"), validators=[Optional(), Length(max=300)])
    producer = SelectField(_l("Producteur"), choices=[])
    licence = SelectField(_l("Licence"), choices=list(LICENCES), validators=[DataRequired()],
                          description=WHY_LICENCE)
    keywords = StringField(_l("Mots-clés (séparés par des virgules)"),
                           validators=[DataRequired(_l("Donnez au moins un mot-clé.")), Length(max=1000)],
                           description=WHY_KEYWORDS)
    theme = SelectField(_l("Thème"), choices=THEME_CHOICES,
                        validators=[DataRequired(_l("Choisissez un thème.")), AnyOf(list(THEMES))],
                        description=WHY_THEME)
    contact = StringField(_l("Contact (adresse e-mail)"),
                          validators=[DataRequired(_l("Donnez l'adresse e-mail de contact.")), Length(max=300),
                                      Regexp(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$",
                                             message=_l("Une adresse e-mail est attendue."))],
                          description=WHY_CONTACT)
    crs = StringField(_l("Système de coordonnées si le fichier n'en déclare pas (ex. EPSG:2154)"),
                      validators=[Optional(), Length(max=40)])
    source_layer = StringField(_l("Couche, dossier KML ou feuille du tableur (par défaut : la seule, tous les "
                                  "dossiers, la première feuille)"), validators=[Optional(), Length(max=200)])
    free_text = StringField(_l("Colonnes de texte libre, séparées par des virgules (les données personnelles y sont "
                               "masquées avant publication : noms, téléphones, e-mails, plaques…)"),
                            validators=[Optional(), Length(max=1000)])
    note = TextAreaField(_l("Note de version"), validators=[Optional(), Length(max=2000)])


class VersionForm(PublishForm):
    """A new version of an existing layer: its metadata stay unless changed here."""

    licence = SelectField(_l("Licence"), choices=list(LICENCES), validators=[Optional()])  # not shown: kept
    keywords = StringField(_l("Mots-clés (séparés par des virgules)"), validators=[Optional(), Length(max=1000)],
                           description=WHY_KEYWORDS)
    theme = SelectField(_l("Thème"), choices=THEME_CHOICES,
                        validators=[Optional(), AnyOf(["", *THEMES])], description=WHY_THEME)
    contact = StringField(_l("Contact (adresse e-mail)"), validators=[Optional(), Length(max=300)],
                          description=WHY_CONTACT)
