"""The registry of sign-in providers: every module of this package that defines ``PROVIDER`` (a
:class:`~.sign_in.Provider`) is the provider of its module's name in ``auth.providers`` (native.py,
github.py, gitlab.py). A new provider is its module here and its descriptor in components/providers/;
its login facts (service name, URL prefix, user-name prefix) travel in settings.json ``auth.logins``.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from .sign_in import Provider

#: MultiAuthenticator subclass used with several providers.
MULTI_AUTHENTICATOR = "gmap_hub.auth.GmapMultiAuthenticator"


@functools.cache
def providers() -> dict[str, Provider]:
    """Provider name -> its entry: native accounts first, then the others by name. Read when the hub
    is configured (the modules of this package import this one)."""
    package = importlib.import_module(__package__)
    found = {}
    for module in pkgutil.iter_modules(package.__path__):
        provider = getattr(importlib.import_module(f"{__package__}.{module.name}"), "PROVIDER", None)
        if isinstance(provider, Provider):
            found[module.name] = provider
    return dict(sorted(found.items(), key=lambda item: (item[0] != "native", item[0])))
