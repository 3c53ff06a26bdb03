"""Operator hook files: Python files shipped into the hub container that define one function."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Callable

from .settings import SettingsError


def load_hook(path: str, function: str, key: str, settings_file: str) -> Callable:
    """Imports ``path`` and returns its ``function``.

    ``key`` (e.g. ``hooks.preSpawn``) and ``settings_file`` name where the path came from in error
    messages. The module is registered as ``gmap_hub_hooks.<file name>``.
    """
    where = f"{settings_file}: key {key}"
    if not os.path.isabs(path):
        raise SettingsError(f"{where}: expected an absolute path in the hub container, got {path!r}")
    if not os.path.isfile(path):
        raise SettingsError(f"{where}: hook file {path} does not exist in the hub container")
    module_name = "gmap_hub_hooks." + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise SettingsError(f"{where}: {path} cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        sys.modules.pop(module_name, None)
        raise SettingsError(f"{where}: importing {path} failed: {type(e).__name__}: {e}") from e
    hook = getattr(module, function, None)
    if hook is None:
        raise SettingsError(f"{where}: {path} does not define a function named {function}")
    if not callable(hook):
        raise SettingsError(f"{where}: {function} in {path} is not a function")
    return hook
