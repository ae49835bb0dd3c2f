"""Form fields shared by the blueprints' forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter
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


def bounded_int(value: str) -> int:
    """``int(value)`` within a PostgreSQL integer, for ``request.args.get(name, type=bounded_int)``.

    Raises ValueError beyond it, so Flask returns the default as for any non-integer text.
    """
    number = int(value)
    if abs(number) > INT_MAX:
        raise ValueError(f"{value[:20]}…: out of range")
    return number


class BoundedIntConverter(IntegerConverter):
    """The ``<int:…>`` URL converter, limited to PostgreSQL integers (a larger id is a 404, not a 500)."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=INT_MAX, signed=False):  # noqa: A002 (werkzeug's names)
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
