"""Thin routes: validate, call the layer below, shape the response."""

from app.schemas import ErrorResponse

# Documented on every route so clients (and schema checkers) know the error shape.
ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Malformed JSON",
        401: "Missing or wrong API key",
        403: "Writes (or reads) are disabled: no API key configured",
        404: "Not found",
        409: "Conflict (e.g. a rebuild is already running)",
        413: "Request body too large",
        422: "Invalid request: the message says which field and what to change",
        503: "No index is served yet (or it does not match the model), or a write waited too long for another writer",
    }.items()
}
