"""Forms of the planned purchases' pages (CSRF-protected by Flask-WTF)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import DataRequired, Length, Optional

from portal.notifications.forms import LANGUAGES


class PurchaseForm(FlaskForm):
    """A planned purchase (values checked again by ``indicators.purchases.clean``)."""

    buyer_siret = StringField(_l("SIRET de l'acheteur"), validators=[DataRequired(), Length(max=20)])
    buyer_name = StringField(_l("Acheteur"), validators=[Optional(), Length(max=300)])
    object = TextAreaField(_l("Objet de l'achat"), validators=[DataRequired(), Length(max=2000)])
    cpv_code = StringField(_l("Code CPV (8 chiffres)"), validators=[Optional(), Length(max=12)])
    amount = StringField(_l("Montant estimé (€ HT)"), validators=[Optional(), Length(max=30)])
    amount_min = StringField(_l("ou fourchette : de (€ HT)"), validators=[Optional(), Length(max=30)])
    amount_max = StringField(_l("à (€ HT)"), validators=[Optional(), Length(max=30)])
    expected_quarter = StringField(_l("Trimestre de publication prévu (ex. 2025-T2)"),
                                   validators=[Optional(), Length(max=40)])
    expected_on = DateField(_l("ou date de publication prévue"), validators=[Optional()])
    procedure = StringField(_l("Procédure"), validators=[Optional(), Length(max=200)])
    lots = IntegerField(_l("Nombre de lots"), validators=[Optional()])
    place_commune = StringField(_l("Commune d'exécution (code INSEE)"), validators=[Optional(), Length(max=5)])
    place_quartier = StringField(_l("Quartier (code)"), validators=[Optional(), Length(max=64)])
    place_name = StringField(_l("Lieu (en clair)"), validators=[Optional(), Length(max=200)])
    contact = StringField(_l("Contact"), validators=[Optional(), Length(max=300)])
    status = SelectField(_l("Statut"), validators=[DataRequired()])
    notice_url = StringField(_l("Lien de l'avis de marché (une fois publié)"), validators=[Optional(), Length(max=500)])
    decp_id = StringField(_l("Identifiant du marché dans les DECP (une fois attribué)"),
                          validators=[Optional(), Length(max=128)])
    geometry = HiddenField()


class AlertForm(FlaskForm):
    """A firm's alerts: CPV divisions and communes, by e-mail."""

    email = EmailField(_l("Adresse électronique"), validators=[Optional(), Length(max=254)])
    divisions = SelectMultipleField(_l("Divisions CPV (secteurs)"), validators=[Optional()])
    communes = StringField(_l("Communes (codes INSEE, séparés par des virgules)"), validators=[Optional(), Length(max=200)])
    locale = SelectField(_l("Langue des messages"), choices=LANGUAGES, default="fr")
