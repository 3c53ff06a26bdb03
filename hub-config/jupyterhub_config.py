# JupyterHub configuration of the GMAP hub. Static: every value comes from the JSON files the
# Pulumi program uploads (docs/architecture.md); the logic lives in the gmap_hub package.
import os

from gmap_hub.config import DEFAULT_SECRETS, DEFAULT_SETTINGS, apply

apply(
    c,  # noqa: F821 (provided by JupyterHub's config loader)
    settings_path=os.environ.get("GMAP_HUB_SETTINGS", DEFAULT_SETTINGS),
    secrets_path=os.environ.get("GMAP_HUB_SECRETS", DEFAULT_SECRETS),
)
