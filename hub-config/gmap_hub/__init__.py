"""Configuration of the GMAP JupyterHub.

The hub image ships this package next to ``jupyterhub_config.py``. It reads the two JSON files the
Pulumi program uploads into the hub container (``settings.json`` and ``secrets.json``, described in
docs/architecture.md) and turns them into traitlets configuration. No Python is ever generated.
"""
