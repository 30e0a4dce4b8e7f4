"""Reading request bodies and query strings into checked values, naming the field that is wrong."""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import falcon

from api.errors import BadRequest, PayloadTooLarge
from api.json_limits import parse_json
from core.errors import ValidationFailed
from jobs.inputs import JobInput

MAX_BODY_BYTES = 64 * 1024


def read_json(req: falcon.Request, *, allow_empty: bool = False) -> dict:
    """The request body as a JSON object (400 when malformed, 413 when over 64 KiB, 422 when not an object)."""
    if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is over {MAX_BODY_BYTES // 1024} KiB.")
    raw = req.bounded_stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is over {MAX_BODY_BYTES // 1024} KiB.")
    if not raw.strip():
        if allow_empty:
            return {}
        raise ValidationFailed("A JSON object body is required.", field="body", code="missing_body")
    try:
        body = parse_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object.", field="body", code="invalid_body")
    return body


def only_fields(body: dict, allowed: set[str]) -> None:
    """422 for a field the endpoint does not know."""
    for key in body:
        if key not in allowed:
            raise ValidationFailed(f"Unknown field {key!r}; expected {', '.join(sorted(allowed))}.", field=key,
                                   code="unknown_field")


def string(body: dict, name: str, *, required: bool = True, max_length: int = 200) -> Optional[str]:
    """A non-empty string field."""
    value = body.get(name)
    if value is None:
        if required:
            raise ValidationFailed(f"{name} is required.", field=name, code="missing_field")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"{name} must be a non-empty string.", field=name, code="invalid_type")
    if len(value) > max_length:
        raise ValidationFailed(f"{name} must be at most {max_length} characters.", field=name, code="too_long")
    return value


def boolean(body: dict, name: str, default: bool = False) -> bool:
    """A boolean field."""
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise ValidationFailed(f"{name} must be true or false.", field=name, code="invalid_type")
    return value


def string_list(body: dict, name: str, *, max_items: int = 5000) -> list[str]:
    """A non-empty list of distinct non-empty strings."""
    value = body.get(name)
    if value is None:
        raise ValidationFailed(f"{name} is required.", field=name, code="missing_field")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValidationFailed(f"{name} must be a non-empty list of ids.", field=name, code="invalid_type")
    if len(value) > max_items:
        raise ValidationFailed(f"{name} may hold at most {max_items} ids.", field=name, code="too_many")
    return list(dict.fromkeys(value))


def job_inputs(body: dict, inputs: Sequence[JobInput]) -> dict[str, Any]:
    """The declared inputs of a job request as typed values (defaults filled in); 422 for the first bad field."""
    only_fields(body, {i.name for i in inputs})
    return {i.name: _INPUT_READERS[i.type](body, i) for i in inputs}


def _read_string(body: dict, i: JobInput) -> Optional[str]:
    return string(body, i.name, required=i.required, max_length=i.max_length)


def _read_boolean(body: dict, i: JobInput) -> Optional[bool]:
    if i.name not in body and (i.required or i.default is None):
        if i.required:
            raise ValidationFailed(f"{i.name} is required.", field=i.name, code="missing_field")
        return None
    return boolean(body, i.name, default=bool(i.default))


def _read_ids(body: dict, i: JobInput) -> Optional[list[str]]:
    return string_list(body, i.name) if i.required or i.name in body else None


_INPUT_READERS: dict[str, Callable[[dict, JobInput], Any]] = {
    "string": _read_string, "boolean": _read_boolean, "ids": _read_ids}


def idempotency_key(req: falcon.Request) -> Optional[str]:
    """The Idempotency-Key header: at most 255 characters (the stored key's length)."""
    key = req.get_header("Idempotency-Key")
    if key is not None and len(key) > 255:
        raise ValidationFailed("Idempotency-Key must be at most 255 characters.", field="Idempotency-Key",
                               code="too_long")
    return key


def query_int(req: falcon.Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high]."""
    raw = req.get_param(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be a whole number.", field=name, code="invalid_type") from None
    if not low <= value <= high:
        raise ValidationFailed(f"{name} must be between {low} and {high}.", field=name, code="out_of_range")
    return value


def query_choice(req: falcon.Request, name: str, choices: Any) -> Optional[str]:
    """An optional query parameter from a fixed set."""
    raw = req.get_param(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise ValidationFailed(f"{name} must be one of {', '.join(choices)}.", field=name, code="invalid_value")
    return raw
