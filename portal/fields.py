"""Form fields shared by the blueprints' forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField

#: Largest value of a PostgreSQL integer column.
INT_MAX = 2 ** 31 - 1


class BoundedIntegerField(IntegerField):
    """An IntegerField refusing values beyond a PostgreSQL integer.

    WTForms' NumberRange converts to float and overflows on a 400-digit number (a 500 instead of
    a form error); this refuses it while parsing, before any validator runs.
    """

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and abs(self.data) > INT_MAX:
            self.data = None
            raise ValueError(_l("Nombre trop grand."))
