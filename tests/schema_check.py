"""The JSON Schema of concord.yaml (``concord schema``), applied to configs as an editor
applies it: to the YAML's data, dates as the text they are written as."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from jsonschema import Draft7Validator

from adapters.platforms import platform_specs
from bot.config.schema import config_schema


@cache
def validator() -> Draft7Validator:
    schema = config_schema(platform_specs())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def as_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def schema_errors(data: Any) -> list[str]:
    """Each place the schema rejects, as ``key.path: reason``."""
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator().iter_errors(as_json(data))
    ]
