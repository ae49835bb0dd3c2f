"""Forms of the moderation pages (CSRF-protected by Flask-WTF)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from incidents.fields import DESCRIPTION_MAX
from incidents.moderation import REASON_MAX


class DecisionForm(FlaskForm):
    """Approve the masked text, publish an edited text, or hide it (reason required to edit or hide)."""

    action = RadioField(_l("Décision"), choices=[SelectChoice("approve", _l("Publier le texte masqué proposé")),
                                                   SelectChoice("edit", _l("Publier le texte corrigé ci-dessous")),
                                                   SelectChoice("hide", _l("Masquer le texte"))],
                        validators=[DataRequired()])
    text = TextAreaField(_l("Texte corrigé (public)"), validators=[Optional(), Length(max=DESCRIPTION_MAX)])
    reason = StringField(_l("Motif (obligatoire pour corriger ou masquer, visible du service seulement)"),
                         validators=[Optional(), Length(max=REASON_MAX)])


class AddressForm(FlaskForm):
    """The public address: as typed, edited, or the automatic rule (street only when a person is named)."""

    action = RadioField(_l("Adresse publique"),
                        choices=[SelectChoice("approve", _l("Publier l’adresse telle que saisie")),
                                 SelectChoice("edit", _l("Publier l’adresse corrigée ci-dessous")),
                                 SelectChoice("mask", _l("Règle automatique (rue seule si une personne est nommée)"))],
                        validators=[DataRequired()])
    text = StringField(_l("Adresse corrigée (publique)"), validators=[Optional(), Length(max=500)])
    reason = StringField(_l("Motif (obligatoire, visible du service seulement)"),
                         validators=[Optional(), Length(max=REASON_MAX)])


class PhotoForm(FlaskForm):
    """Publish or hide the photo."""

    action = RadioField(_l("Photo"), choices=[SelectChoice("publish", _l("Publier la photo")),
                                                SelectChoice("hide", _l("Masquer la photo"))],
                        validators=[DataRequired()])
    reason = StringField(_l("Motif (obligatoire pour masquer)"), validators=[Optional(), Length(max=REASON_MAX)])


class BlurForm(FlaskForm):
    """A rectangle to blur, in percent of the image (from its top-left corner)."""

    left = DecimalField(_l("Gauche (%)"), validators=[DataRequired(), NumberRange(0, 100)])
    top = DecimalField(_l("Haut (%)"), validators=[DataRequired(), NumberRange(0, 100)])
    width = DecimalField(_l("Largeur (%)"), validators=[DataRequired(), NumberRange(0.1, 100)])
    height = DecimalField(_l("Hauteur (%)"), validators=[DataRequired(), NumberRange(0.1, 100)])


class AutoPublicationForm(FlaskForm):
    """The categories whose texts are published at once when the automatic check finds nothing."""
