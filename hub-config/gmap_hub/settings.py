"""Reading the hub's JSON files with clear errors.

Before any value is read, the whole file is validated against its JSON Schema, generated from the
program's contract (components/contract.ts -> ``settings.schema.json`` / ``secrets.schema.json``
beside this module); the first problem fails with the file and the key path, e.g.::

    /srv/jupyterhub/settings.json: key spawner.images[1].image: missing (required)

Then every value is read through :class:`Section`, which never checks again what the schema
guarantees. Values of the secrets file are never repeated in error messages.
"""

from __future__ import annotations

import json
import os
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

SCHEMA_DIR = os.path.dirname(os.path.abspath(__file__))

_MISSING = object()


class SettingsError(ValueError):
    """A settings or secrets file is missing, unreadable or does not match the contract."""


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Section:
    """A JSON object of a settings/secrets file that passed its contract (``check_contract``).

    The typed getters only read: the schema already guarantees each value's type and range. What a
    JSON Schema cannot state (rules across keys, e.g. the default image is one of the images) the
    hub configuration checks itself and reports with :meth:`error`, which names the key.
    """

    def __init__(self, data: dict, file: str, path: str = "", sensitive: bool = False):
        self._data = data
        self.file = file
        self.path = path
        self.sensitive = sensitive

    def key_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str | int | None, problem: str) -> SettingsError:
        where = f"key {self.key_path(key)}" if key is not None else (f"key {self.path}" if self.path else "top level")
        return SettingsError(f"{self.file}: {where}: {problem}")

    def has(self, key: str) -> bool:
        return self._data.get(key) is not None

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        """The value of ``key``; ``default`` when it is absent or null (optional keys)."""
        value = self._data.get(key)
        if value is None:
            if default is _MISSING:
                raise self.error(key, "missing (required)")
            return default
        return value

    def string(self, key: str, default: Any = _MISSING) -> str:
        return self.raw(key, default)

    def optional_string(self, key: str) -> str | None:
        return self.raw(key, None)

    def integer(self, key: str, default: Any = _MISSING) -> int:
        return self.raw(key, default)

    def number(self, key: str, default: Any = _MISSING) -> float:
        return self.raw(key, default)

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        return self.raw(key, default)

    def strings(self, key: str, default: Any = _MISSING) -> list[str]:
        return list(self.raw(key, default))

    def integers(self, key: str, default: Any = _MISSING) -> list[int]:
        return list(self.raw(key, default))

    def string_map(self, key: str, default: Any = _MISSING) -> dict[str, str]:
        return dict(self.raw(key, default))

    def section(self, key: str) -> Section:
        return Section(self.raw(key), self.file, self.key_path(key), self.sensitive)

    def sections(self, key: str, default: Any = _MISSING) -> list[Section]:
        return [Section(item, self.file, f"{self.key_path(key)}[{i}]", self.sensitive) for i, item in enumerate(self.raw(key, default))]


def check_contract(data: dict, path: str, what: str, sensitive: bool) -> None:
    """Validates a file against ``<what>.schema.json``; the first problem fails with its key path
    (for the secrets file without the value or the schema's message, which quotes it)."""
    with open(os.path.join(SCHEMA_DIR, f"{what}.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    found = schema_problem(schema, data, sensitive)
    if found is not None:
        key, problem = found
        raise SettingsError(f"{path}: key {key}: {problem} (the {what} contract: {what}.schema.json)")


def schema_problem(schema: dict, data: Any, sensitive: bool = False) -> tuple[str, str] | None:
    """The first problem of ``data`` against a JSON Schema, as (key path, what is wrong), or None
    (``sensitive``: without the value or the schema's message, which quotes it)."""
    error = best_match(Draft202012Validator(schema).iter_errors(data))
    if error is None:
        return None
    at = list(error.absolute_path)
    if error.validator == "required":
        at.append(next(k for k in error.validator_value if k not in error.instance))
        problem = "missing (required)"
    elif error.validator == "additionalProperties":
        at.append(sorted(set(error.instance) - set(error.schema.get("properties", {})))[0])
        problem = "unknown key"
    else:
        problem = f"does not satisfy '{error.validator}'" if sensitive else error.message
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in at).lstrip(".") or "top level", problem


def load_json(path: str, what: str, env_var: str, *, sensitive: bool = False) -> Section:
    """Reads one of the hub's JSON files. ``what`` names it in messages and its schema, ``env_var``
    overrides it."""
    if not os.path.exists(path):
        raise SettingsError(
            f"The hub {what} file {path} does not exist. The Pulumi program uploads it into the hub container; set {env_var} to read another file."
        )
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise SettingsError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}") from None
    except OSError as e:
        raise SettingsError(f"The hub {what} file {path} cannot be read: {e.strerror}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: top level: expected a JSON object, got {_describe(data)}")
    check_contract(data, path, what, sensitive)
    return Section(data, path, "", sensitive)
