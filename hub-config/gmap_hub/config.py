"""Turns the hub's settings.json and secrets.json into JupyterHub configuration.

:func:`apply` is the only entry point (called by ``jupyterhub_config.py``): it loads both files
and hands each section to its module of :mod:`gmap_hub.configure`. The JSON contract is described
in docs/architecture.md. Any missing or invalid key fails the hub start with a
:class:`~gmap_hub.settings.SettingsError` naming the file and the key.
"""

from __future__ import annotations

from .configure.auth import configure_auth
from .configure.hub import configure_hub
from .configure.monitoring import configure_monitoring
from .configure.python_hooks import configure_python_hooks
from .configure.services import configure_services
from .configure.spawner import configure_spawner
from .settings import SettingsError, load_json

DEFAULT_SETTINGS = "/srv/jupyterhub/settings.json"
DEFAULT_SECRETS = "/srv/jupyterhub/secrets.json"


def apply(c, settings_path: str = DEFAULT_SETTINGS, secrets_path: str = DEFAULT_SECRETS) -> None:
    """Sets every option of the hub on the traitlets config ``c`` from the two JSON files."""
    settings = load_json(settings_path, "settings", "GMAP_HUB_SETTINGS")
    secrets = load_json(secrets_path, "secrets", "GMAP_HUB_SECRETS", sensitive=True)
    hub = settings.section("hub")
    hooks = settings.section("hooks")
    data_dir = hub.string("dataDir")
    configure_hub(c, hub, secrets)
    configure_auth(c, settings.section("auth"), secrets, data_dir)
    configure_spawner(c, settings.section("spawner"), hooks, secrets, hub)
    configure_python_hooks(c, hooks, data_dir)
    # monitoring (absent when off): its dashboards, and its services declared with the others
    monitoring = configure_monitoring(c, settings.section("monitoring"), secrets) if settings.has("monitoring") else []
    configure_services(c, settings.sections("services"), settings.section("culler"), secrets, monitoring)


__all__ = ["apply", "SettingsError"]
