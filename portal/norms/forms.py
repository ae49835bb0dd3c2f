"""Forms of the norms blueprint (CSRF-protected by Flask-WTF)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DateTimeLocalField, DecimalField, RadioField, SelectField, StringField,
                     TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ova.models import NORM_METRICS, NORM_PERIODS, NORM_SCOPES
from portal.fields import BoundedIntegerField


def _coerce_int_or_none(value):
    return int(value) if value not in (None, "", "None") else None


class NormForm(FlaskForm):
    label_fr = StringField(_l("Libellé (français)"), validators=[DataRequired(), Length(max=300)])
    label_en = StringField(_l("Libellé (anglais)"), validators=[DataRequired(), Length(max=300)])
    metric = SelectField(_l("Mesure"), choices=list(NORM_METRICS))
    scope = SelectField(_l("Périmètre"), choices=list(NORM_SCOPES))
    quartier_id = SelectField(_l("Quartier (périmètre quartier)"), coerce=_coerce_int_or_none, validators=[Optional()])
    zone_code = StringField(_l("Code de zone (périmètre zone)"), validators=[Optional(), Length(max=64)])
    category_codes = StringField(_l("Catégories (codes séparés par des virgules)"), validators=[Length(max=1000)])
    delay_value = BoundedIntegerField(_l("Délai"), validators=[Optional(), NumberRange(min=1, max=100000)])
    delay_unit = SelectField(_l("Unité du délai"), choices=[
        SelectChoice("hours", _l("heures écoulées")), SelectChoice("working_days", _l("jours ouvrés du calendrier")),
        SelectChoice("working_hours", _l("heures ouvrées du calendrier")),
        SelectChoice("source", _l("échéance donnée par le système source"))])
    calendar_id = SelectField(_l("Calendrier (jours et heures ouvrés)"), coerce=_coerce_int_or_none,
                              validators=[Optional()])
    pauses_on_hold = BooleanField(_l("Le délai s’arrête pendant l’attente d’un tiers"))
    activity_kind = StringField(_l("Type d'activité"), validators=[Optional(), Length(max=64)])
    events_required = BoundedIntegerField(_l("Nombre d'événements requis"), validators=[Optional(), NumberRange(min=1)])
    period = SelectField(_l("Période"), choices=[SelectChoice("", "—"), *NORM_PERIODS],
                         validators=[Optional()])
    target_rate = DecimalField(_l("Taux cible (0 à 1)"), places=3,
                               validators=[InputRequired(), NumberRange(min=0.001, max=1)])
    min_sample = BoundedIntegerField(_l("Échantillon minimal"), validators=[Optional(), NumberRange(min=1)])
    valid_from = DateField(_l("Valable à partir du"), validators=[InputRequired()])
    valid_to = DateField(_l("Valable jusqu'au (exclu)"), validators=[Optional()])


class AuditForm(FlaskForm):
    tache_code = StringField(validators=[DataRequired(), Length(max=8)])
    clear_commitment = RadioField(_l("Responsabilité claire et engagement public ?"),
                                  choices=[SelectChoice("oui", "OUI"), SelectChoice("non", "NON")],
                                  validators=[DataRequired()])
    comment = TextAreaField(_l("Commentaire"), validators=[Optional(), Length(max=2000)])


class ActivityForm(FlaskForm):
    kind = SelectField(_l("Activité"), validators=[DataRequired()])
    quartier_id = SelectField(_l("Quartier"), coerce=int, validators=[DataRequired()])
    occurred_at = DateTimeLocalField(_l("Date et heure (heure de Paris)"), format="%Y-%m-%dT%H:%M",
                                     validators=[InputRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class DeliveryForm(FlaskForm):
    norm_id = SelectField(_l("Document (norme)"), coerce=int, validators=[DataRequired()])
    quartier_id = SelectField(_l("Quartier (vide : tous)"), coerce=_coerce_int_or_none, validators=[Optional()])
    delivered_on = DateField(_l("Remis le"), validators=[InputRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
