"""What the gateway refuses before a service sees it: text PostgreSQL or UTF-8 cannot hold, JSON nested too deep.

PostgreSQL refuses NUL in text and a lone surrogate (half of a UTF-16 pair, which JSON's `\\ud800` escape
can carry) cannot be encoded as UTF-8; either would fail deep inside a service as a 500. So they are
refused here, naming where they were: 422 for a field of the body or a query parameter, 400 elsewhere.
"""
import re

from concord_common.errors import MalformedRequest, ValidationFailed

MAX_JSON_DEPTH = 32          # Concord's deepest body is a few levels; nothing legitimate comes near this
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")      # a valid pair was already joined into one character


def text_fault(text: str) -> str | None:
    """Why this text cannot be stored, or None."""
    if "\x00" in text:
        return "contains a NUL character (U+0000), which text may not hold"
    if _LONE_SURROGATE.search(text):
        return "contains a lone surrogate (an unpaired U+D800–U+DFFF), which is not Unicode text"
    return None


def check_pairs(where: str, pairs) -> None:
    """Query parameters or form fields: ValidationFailed naming each faulty one."""
    errors = {}
    for name, value in pairs:
        if text_fault(name):
            errors.setdefault("(name)", []).append(f"A name {text_fault(name)}.")
        elif text_fault(value):
            errors.setdefault(name, []).append(f"The value {text_fault(value)}.")
    if errors:
        raise ValidationFailed(f"One or more {where} cannot be accepted.", errors)


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def check_text(where: str, text: str) -> None:
    """The path or a header: MalformedRequest naming it. No control character belongs there either."""
    fault = text_fault(text) or (_CONTROL.search(text) and "contains a control character (U+0000–U+001F or U+007F)")
    if fault:
        raise MalformedRequest(f"The {where} {fault}.")


def check_json(body) -> None:
    """A parsed JSON body: not deeper than MAX_JSON_DEPTH, and every key and string storable."""
    errors = {}
    pending = [(body, "", 1)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise MalformedRequest(f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.")
        if isinstance(value, dict):
            for key, item in value.items():
                fault = text_fault(key)
                if fault:
                    errors.setdefault(path or "_schema", []).append(f"A property name {fault}.")
                    continue
                pending.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, f"{path}.{index}" if path else str(index), depth + 1)
                           for index, item in enumerate(value))
        elif isinstance(value, str):
            fault = text_fault(value)
            if fault:
                errors.setdefault(path or "_schema", []).append(f"The value {fault}.")
    if errors:
        raise ValidationFailed("One or more fields cannot be accepted.", errors)
