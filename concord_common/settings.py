"""Configuration: a YAML file per service, with ${ENV_VAR:default} overrides.

Values after substitution are parsed as YAML scalars, so `${MAX_WORKERS:20}`
becomes the integer 20.
"""
import os
import re
from pathlib import Path

import yaml

_ENV_PATTERN = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<default>[^}]*))?\}")


def _substitute(text: str) -> str:
    def replace(match):
        value = os.environ.get(match.group("name"))
        if value is None:
            value = match.group("default") or ""
        return value
    return _ENV_PATTERN.sub(replace, text)


def _resolve(node):
    if isinstance(node, dict):
        return {key: _resolve(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(value) for value in node]
    if isinstance(node, str) and "${" in node:
        substituted = _substitute(node)
        if _ENV_PATTERN.fullmatch(node):
            return yaml.safe_load(substituted) if substituted else None
        return substituted
    return node


def load_config(path) -> dict:
    """Read a service's YAML config, resolving environment overrides."""
    with open(path) as handle:
        raw = yaml.safe_load(handle) or {}
    return _resolve(raw)


def component_config_path(component: str) -> Path:
    """Where the config of a component ('profiles', …, 'gateway') lives."""
    root = Path(__file__).resolve().parent.parent
    if component == "gateway":
        return root / "gateway" / "config.yaml"
    return root / "services" / component / "config.yaml"


SERVICE_NAMES = ("profiles", "cases", "permissions", "audit", "notifications")
