"""One error hierarchy for the whole project.

Each class carries the HTTP status and a user-facing message, so the portal's single error
handler can render it as HTML, JSON or an OGC exception. Domain code raises these; it never
imports Flask.
"""
from __future__ import annotations


class OvaError(Exception):
    """Base class: a failure the user can understand and act on."""

    status = 500
    code = "ServerError"

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the response to this error carries (e.g. ``Retry-After``)."""
        return {}


class InvalidInput(OvaError):
    """Bad input from a user, a query parameter or an uploaded file."""

    status = 400
    code = "InvalidParameterValue"


class DataFileError(InvalidInput):
    """A data file cannot be loaded; names the file, and where known the row and field."""

    code = "InvalidDataFile"

    def __init__(self, path, message: str, *, row: int | None = None, field: str | None = None):
        self.path = str(path)
        self.row = row
        self.field = field
        where = self.path
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


class NotFound(OvaError):
    """The requested object does not exist (or is not visible to the caller)."""

    status = 404
    code = "NotFound"


class Unauthorized(OvaError):
    """The caller must identify itself first (a login or an API token)."""

    status = 401
    code = "Unauthorized"


class Forbidden(OvaError):
    """The caller is known but not allowed to do this."""

    status = 403
    code = "Forbidden"


class Conflict(OvaError):
    """The request conflicts with the current state (e.g. publishing a frozen month again)."""

    status = 409
    code = "Conflict"


class RateLimited(OvaError):
    """Too many requests from the same client (or for the same account) in a window."""

    status = 429
    code = "TooManyRequests"

    def __init__(self, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        #: Seconds after which the client may retry (``Retry-After`` header).
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}
