"""JSON state files of the hub in the hub-data volume (lockouts, user providers): read and replace."""

from __future__ import annotations

import json
import os


def read_state(path: str) -> dict:
    """A JSON state file of the hub in the hub-data volume; {} when it does not exist yet."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def write_state(path: str, data: dict) -> None:
    """Replaces a JSON state file at once (a crash never leaves half a file)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, sort_keys=True)
    os.replace(tmp, path)
