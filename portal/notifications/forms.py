"""Forms of the subscription pages (CSRF-protected by Flask-WTF)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional


LANGUAGES = [SelectChoice("fr", "Français"), SelectChoice("en", "English")]


class SubscribeForm(FlaskForm):
    """Follow a quartier, a priority zone, a category or a drawn area (by e-mail)."""

    email = EmailField(_l("Adresse électronique"), validators=[Optional(), Length(max=254)])
    kind = RadioField(_l("Suivre"), choices=[
        SelectChoice("quartier", _l("un quartier")), SelectChoice("zone", _l("une zone prioritaire")),
        SelectChoice("category", _l("une catégorie de problème")),
        SelectChoice("area", _l("une zone dessinée sur la carte"))], default="quartier", validators=[DataRequired()])
    quartier = SelectField(_l("Quartier"), validators=[Optional()], validate_choice=False)
    zone = SelectField(_l("Zone prioritaire"), validators=[Optional()], validate_choice=False)
    category = SelectField(_l("Catégorie"), validators=[Optional()], validate_choice=False)
    geometry = HiddenField()
    frequency = RadioField(_l("Fréquence"), choices=[SelectChoice("immediate", _l("un message par événement")),
                                                     SelectChoice("daily", _l("un résumé quotidien"))],
                           default="immediate", validators=[DataRequired()])
    locale = SelectField(_l("Langue des messages"), choices=LANGUAGES, default="fr")


class ConfirmForm(FlaskForm):
    """A button with only its CSRF token (resubscribe, end a subscription)."""


class PreferenceForm(FlaskForm):
    """An account's choice for the messages of its role."""

    frequency = RadioField(_l("Messages"), choices=[SelectChoice("immediate", _l("à chaque événement")),
                                                    SelectChoice("daily", _l("un résumé quotidien")),
                                                    SelectChoice("off", _l("aucun"))], validators=[DataRequired()])
    locale = SelectField(_l("Langue des messages"), choices=LANGUAGES, default="fr")
