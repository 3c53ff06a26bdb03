"""Which provider owns each hub user: the hub's post-auth hook :class:`ProviderOwnership`.

A hub user stays with the provider that first signed it in: after a switch of providers (GitHub
alone, then native accounts alone, say) someone else with the same login cannot take over the old
user's server, volume and admin flag.
"""

from __future__ import annotations

import inspect

from .configure.providers import providers
from .state import read_state, write_state


def provider_of(authenticator) -> str:
    """The provider name (as in ``auth.providers``) of an authenticator of this hub."""
    return next((name for name, p in providers().items() if isinstance(authenticator, p.upstream)), type(authenticator).__name__)


class ProviderOwnership:
    """Post-auth hook: records which provider signed each hub user in first (a JSON file in the
    hub-data volume) and refuses a login of the same hub user name through another provider. Then
    runs ``then`` (the operator's post-auth hook), if any."""

    def __init__(self, path: str, then=None):
        self.path = path
        self.then = then

    async def __call__(self, authenticator, handler, authentication):
        name, provider = authentication["name"], provider_of(authenticator)
        owners = read_state(self.path)
        owner = owners.get(name)
        if owner is not None and owner != provider:
            authenticator.log.warning("Refused %s sign-in as %s: that hub user belongs to %s sign-in", provider, name, owner)
            return None
        if owner is None:
            owners[name] = provider
            write_state(self.path, owners)
        if self.then is None:
            return authentication
        result = self.then(authenticator, handler, authentication)
        return await result if inspect.isawaitable(result) else result
