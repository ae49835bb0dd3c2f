"""The error hierarchy: status, code and the headers an error's response carries."""
import pytest

from ova.errors import (Conflict, DataFileError, Forbidden, InvalidInput, NotFound, OvaError, RateLimited,
                        Unauthorized)


@pytest.mark.parametrize("error, status, code", [
    (OvaError("x"), 500, "ServerError"), (InvalidInput("x"), 400, "InvalidParameterValue"),
    (Unauthorized("x"), 401, "Unauthorized"), (Forbidden("x"), 403, "Forbidden"),
    (NotFound("x"), 404, "NotFound"), (Conflict("x"), 409, "Conflict"),
    (RateLimited("x", retry_after=60), 429, "TooManyRequests"),
])
def test_status_and_code(error, status, code):
    assert (error.status, error.code, error.message) == (status, code, "x")


def test_only_a_rate_limit_with_a_delay_carries_retry_after():
    assert RateLimited("trop", retry_after=90).headers == {"Retry-After": "90"}
    assert RateLimited("trop").headers == {}
    assert OvaError("x", status=503).headers == {}
    assert Unauthorized("x").headers == {}


def test_data_file_error_names_file_row_and_field():
    err = DataFileError("a.csv", "not a date", row=7, field="date")
    assert err.message == "a.csv, row 7, field 'date': not a date"
    assert (err.status, err.path, err.row, err.field) == (400, "a.csv", 7, "date")
