"""Reading the hub's JSON files with clear errors.

Every value is read through :class:`Section`, which knows the file and the key path it came from,
so a missing or mistyped key fails with a message such as::

    /srv/jupyterhub/settings.json: key spawner.images[1].image: missing (required)

Before any value is read, the whole file is validated against its JSON Schema, generated from the
program's contract (components/contract.ts -> ``settings.schema.json`` / ``secrets.schema.json``
beside this module), so what the schema guarantees is never checked again. Values of the secrets
file are never repeated in error messages.
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
    """A JSON object of a settings/secrets file, with typed accessors that name the failing key."""

    def __init__(self, data: dict, file: str, path: str = "", sensitive: bool = False):
        self._data = data
        self.file = file
        self.path = path
        self.sensitive = sensitive

    # -- helpers ----------------------------------------------------------------------------------
    def key_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str | int | None, problem: str) -> SettingsError:
        where = f"key {self.key_path(key)}" if key is not None else (f"key {self.path}" if self.path else "top level")
        return SettingsError(f"{self.file}: {where}: {problem}")

    def _type_error(self, key: str | int, expected: str, value: Any) -> SettingsError:
        got = _describe(value)
        if not self.sensitive and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            got = f"{got} ({value!r})"
        return self.error(key, f"expected {expected}, got {got}")

    def _item_error(self, key: str, item: str | int, expected: str, value: Any) -> SettingsError:
        path = f"{self.key_path(key)}[{item}]" if isinstance(item, int) else f"{self.key_path(key)}.{item}"
        return Section({}, self.file, path, self.sensitive)._type_error(None, expected, value)

    def has(self, key: str) -> bool:
        return self._data.get(key) is not None

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        value = self._data.get(key, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise self.error(key, "missing (required)")
            return default
        return value

    # -- scalars ----------------------------------------------------------------------------------
    def string(self, key: str, default: Any = _MISSING, *, non_empty: bool = True) -> str:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str):
            raise self._type_error(key, "a string", value)
        if non_empty and not value:
            raise self.error(key, "must not be empty")
        return value

    def optional_string(self, key: str) -> str | None:
        """A string that may be missing or null (returns None then)."""
        return self.string(key, None)

    def integer(self, key: str, default: Any = _MISSING, *, minimum: int | None = None) -> int:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise self._type_error(key, "an integer", value)
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        return value

    def number(self, key: str, default: Any = _MISSING) -> float:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._type_error(key, "a number", value)
        return float(value)

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, bool):
            raise self._type_error(key, "true or false", value)
        return value

    # -- containers -------------------------------------------------------------------------------
    def strings(self, key: str, default: Any = _MISSING) -> list[str]:
        value = self.raw(key, default)
        if not isinstance(value, list):
            raise self._type_error(key, "a list of strings", value)
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise self._item_error(key, i, "a non-empty string", item)
        return list(value)

    def integers(self, key: str, default: Any = _MISSING) -> list[int]:
        value = self.raw(key, default)
        if not isinstance(value, list):
            raise self._type_error(key, "a list of integers", value)
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, int):
                raise self._item_error(key, i, "an integer", item)
        return list(value)

    def string_map(self, key: str, default: Any = _MISSING) -> dict[str, str]:
        value = self.raw(key, default)
        if not isinstance(value, dict):
            raise self._type_error(key, "an object of strings", value)
        for k, v in value.items():
            if not isinstance(v, str):
                raise self._item_error(key, k, "a string", v)
        return dict(value)

    def section(self, key: str) -> Section:
        value = self.raw(key)
        if not isinstance(value, dict):
            raise self._type_error(key, "an object", value)
        return Section(value, self.file, self.key_path(key), self.sensitive)

    def sections(self, key: str, default: Any = _MISSING) -> list[Section]:
        value = self.raw(key, default)
        if not isinstance(value, list):
            raise self._type_error(key, "a list of objects", value)
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self._item_error(key, i, "an object", item)
            out.append(Section(item, self.file, f"{self.key_path(key)}[{i}]", self.sensitive))
        return out


def check_contract(data: dict, path: str, what: str, sensitive: bool) -> None:
    """Validates a file against ``<what>.schema.json``; the first problem fails with its key path
    (for the secrets file without the value or the schema's message, which quotes it)."""
    with open(os.path.join(SCHEMA_DIR, f"{what}.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    error = best_match(Draft202012Validator(schema).iter_errors(data))
    if error is None:
        return
    at = list(error.absolute_path)
    if error.validator == "required":
        at.append(next(k for k in error.validator_value if k not in error.instance))
        problem = "missing (required)"
    elif error.validator == "additionalProperties":
        at.append(sorted(set(error.instance) - set(error.schema.get("properties", {})))[0])
        problem = "unknown key"
    else:
        problem = f"does not satisfy '{error.validator}'" if sensitive else error.message
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in at).lstrip(".") or "top level"
    raise SettingsError(f"{path}: key {key}: {problem} (the {what} contract: {what}.schema.json)")


def load_json(path: str, what: str, env_var: str, *, sensitive: bool = False) -> Section:
    """Reads one of the hub's JSON files. ``what`` names it in messages and its schema, ``env_var``
    overrides it."""
    if not os.path.exists(path):
        raise SettingsError(
            f"The hub {what} file {path} does not exist. The Pulumi program uploads it into the hub "
            f"container; set {env_var} to read another file."
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
