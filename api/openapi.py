"""The OpenAPI document says what the api really answers: every error as
application/problem+json with the status codes a route can give, the bearer key where one is
needed, and the one restriction on text that JSON Schema cannot infer (no NUL characters)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_JSON = "application/problem+json"
# Routes anyone may call: health for load balancers, the benchmark floor, and the routes
# outside /api/v1 that carry their own proof (a label's token, a platform's signature).
PUBLIC_V1 = {"/api/v1/ping"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error (RFC 9457); `code` is stable and machine-readable.",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
        "retry_after": {"type": "integer"},
    },
    "additionalProperties": True,
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}
# Every route can answer these; keyed routes add 401/403, routes with a path parameter 404.
COMMON_ERRORS = {
    "400": "Malformed JSON, or a cursor this API did not give out",
    "413": "The request body is larger than allowed",
    "422": "The request is not valid (the `errors` name each field), or holds NUL characters",
    "500": "Something went wrong on the api's side",
    "503": "The store's records cannot be reached now; nothing was changed",
}
KEYED_ERRORS = {
    "401": "Missing, unknown or revoked key",
    "403": "The key's role may not use this route",
}
NO_NUL = "^[^\\u0000]*$"
# Examples of path parameters from the demo store, so the documentation (and a fuzzer reading
# it) can reach a real order, return, product or ticket.
PATH_EXAMPLES = {
    "order_number": "10001",
    "rma_number": "RMA-000002",
    "sku": "TEE-NAVY-M",
    "ticket_id": 1,
}


def _forbid_nul(schema: Any) -> None:
    """Add the no-NUL pattern to every free-text string schema, recursively."""
    if isinstance(schema, dict):
        if (
            schema.get("type") == "string"
            and "enum" not in schema
            and "pattern" not in schema
            and "format" not in schema
        ):
            schema["pattern"] = NO_NUL
        for value in schema.values():
            _forbid_nul(value)
    elif isinstance(schema, list):
        for item in schema:
            _forbid_nul(item)


def _problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if headers:
        response["headers"] = headers
    return response


def _document_errors(path: str, operation: dict[str, Any]) -> None:
    keyed = path.startswith("/api/v1/") and path not in PUBLIC_V1
    responses: dict[str, Any] = operation.setdefault("responses", {})
    wanted = dict(COMMON_ERRORS)
    if keyed:
        wanted.update(KEYED_ERRORS)
        operation["security"] = [{"bearerKey": []}]
    if "{" in path:
        wanted.setdefault("404", "Not found")
    if path.startswith("/webhooks/") and path != "/webhooks/rest/webhook":
        wanted.setdefault("403", "The platform's signature or secret is missing or wrong")
        wanted.setdefault("404", "The channel is off: its secrets are not configured")
    if any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])):
        wanted.setdefault("409", "This Idempotency-Key was used before with another request")
    for status, description in wanted.items():
        responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        if not status.isdigit() or int(status) < 400:
            continue
        headers = RETRY_AFTER if status in ("429", "503") else None
        responses[status] = _problem(response.get("description") or "Error", headers)


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        schemas["Problem"] = PROBLEM_SCHEMA
        components["securitySchemes"] = {
            "bearerKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "An OpsDesk key (roles: admin, agent, service)",
            }
        }
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                _document_errors(path, operation)
                _forbid_nul(operation.get("parameters", []))
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "path" and parameter["name"] in PATH_EXAMPLES:
                        parameter.setdefault("example", PATH_EXAMPLES[parameter["name"]])
        _forbid_nul(schemas)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
