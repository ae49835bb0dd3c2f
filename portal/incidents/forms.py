"""Forms of the incident pages (all CSRF-protected by Flask-WTF)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import EmailField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from incidents.fields import ADDRESS_MAX, DESCRIPTION_MAX, EMAIL_MAX, NOTE_MAX


class ReportForm(FlaskForm):
    """A citizen's or commerçant's report; the point comes from the map or the device."""

    category = SelectField(_l("Catégorie du problème"), validators=[DataRequired()])
    lat = HiddenField(_l("Latitude"))
    lon = HiddenField(_l("Longitude"))
    address = StringField(_l("Adresse (ou repère si vous cliquez sur la carte)"),
                          validators=[Optional(), Length(max=ADDRESS_MAX)])
    description = TextAreaField(_l("Description"), validators=[DataRequired(), Length(min=3, max=DESCRIPTION_MAX)])
    photo = FileField(_l("Photo (JPEG ou PNG, 5 Mo au plus, facultative)"),
                      validators=[FileAllowed(["jpg", "jpeg", "png"], _l("JPEG ou PNG uniquement"))])
    email = EmailField(_l("Adresse électronique pour le suivi (facultative, jamais publiée)"),
                       validators=[Optional(), Length(max=EMAIL_MAX)])

    def has_point(self) -> bool:
        """Whether a point came with the form (map click, chosen place or the device's position)."""
        return bool((self.lat.data or "").strip() and (self.lon.data or "").strip())

    def validate(self, extra_validators=None) -> bool:
        """The fields' checks, and a place: a point or a typed address (located by the service).
        Without either, the error goes on the address field, where a keyboard user gives it."""
        valid = super().validate(extra_validators)
        if not self.has_point() and not (self.address.data or "").strip():
            self.address.errors = [*self.address.errors, _l(
                "Indiquez où est le problème : tapez une adresse (puis « Chercher » pour choisir un lieu "
                "dans la liste) ou cliquez sur la carte.")]
            valid = False
        return valid


class HoldForm(FlaskForm):
    """An agent stops the clock while the incident waits for a third party (or restarts it)."""

    action = StringField(validators=[DataRequired()])
    reason = TextAreaField(_l("Motif de l’attente (public : ce que le service attend, et de qui)"),
                           validators=[Optional(), Length(max=500)])


class StatusForm(FlaskForm):
    """An agent moves an incident to another status, with a note (required to reject)."""

    # Sent by the clicked submit button (name="to_status"); never rendered as a field itself,
    # otherwise an empty hidden input would come first in the form data.
    to_status = StringField(validators=[DataRequired()])
    note = TextAreaField(_l("Note (obligatoire pour un rejet : le motif est public)"),
                         validators=[Optional(), Length(max=NOTE_MAX)])


class BulkAcknowledgeForm(FlaskForm):
    """Acknowledge the incidents ticked in the work queue (ids come from request.form)."""


class AnswerForm(FlaskForm):
    """The reporter confirms or disputes a resolution."""

    answer = RadioField(_l("Le problème est-il vraiment réglé ?"), validators=[DataRequired()])
    comment = TextAreaField(_l("Commentaire (obligatoire si le problème persiste)"),
                            validators=[Optional(), Length(max=NOTE_MAX)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.answer.choices = [SelectChoice("confirmed", _l("Oui, c'est réglé")),
                               SelectChoice("disputed", _l("Non, le problème persiste"))]
