"""The shape of a sign-in provider on the hub side: a :class:`Provider` entry of the registry
(gmap_hub.configure.providers) and the :class:`SignIn` facts its configure function reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..settings import Section


@dataclass(frozen=True)
class SignIn:
    """What a provider's configure function reads."""

    #: settings.json ``auth`` (each provider reads its own section and keys)
    auth: Section
    secrets: Section
    #: the hub-data volume (state files)
    data_dir: str
    #: the provider's URL prefix under /hub (``auth.logins.<provider>.urlPrefix``); "" with one provider
    url_prefix: str


@dataclass(frozen=True)
class Provider:
    """One sign-in provider. Its login facts (login service name, URL prefix, user-name prefix)
    come from settings.json ``auth.logins``; what is here is the hub's own side."""

    #: authenticator class when it is the only provider
    authenticator: str
    #: authenticator class as one provider of the MultiAuthenticator
    multi_authenticator: str
    #: the library class its authenticators derive from: ProviderOwnership names the provider by it
    upstream: type
    #: sets the provider's traits on the config; returns its admins (bare names)
    configure: Callable[[object, SignIn], set[str]]
    #: checks the settings when the provider is not enabled (keys that only it would use)
    disabled: Callable[[Section], None] | None = None
