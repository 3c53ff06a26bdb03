"""Sign-in: the enabled providers (each configured by its registry entry, gmap_hub.configure.providers),
the hub's admins, the one user-name rule, and the MultiAuthenticator when there are several."""

from __future__ import annotations

import re

from ..groups import load_groups
from ..settings import Section
from .providers import MULTI_AUTHENTICATOR
from .providers import providers as registered_providers
from .sign_in import SignIn


def configure_auth(c, auth: Section, secrets: Section, data_dir: str) -> None:
    """Configures every provider of ``auth.providers`` and what they share."""
    providers = auth.strings("providers")
    registry = registered_providers()
    if len(set(providers)) != len(providers):
        raise auth.error("providers", "a provider is listed twice")
    unknown = sorted(set(providers) - set(registry))
    if unknown:
        raise auth.error("providers", f"{unknown[0]!r} is not a provider of this hub ({', '.join(registry)})")
    # with one provider the hub names are its logins and its pages have no prefix; with several
    # (MultiAuthenticator) each has the login facts of auth.logins
    logins = several_logins(auth, providers) if len(providers) > 1 else {}

    def prefix(provider: str) -> str:
        return logins[provider].string("userNamePrefix") if logins else ""

    admins: set[str] = set()
    for name, provider in registry.items():
        if name not in providers:
            if provider.disabled is not None:
                provider.disabled(auth)
            continue
        url_prefix = logins[name].string("urlPrefix") if logins else ""
        own_admins = provider.configure(c, SignIn(auth=auth, secrets=secrets, data_dir=data_dir, url_prefix=url_prefix))
        # with several providers JupyterHub user names carry the provider's prefix
        admins |= {prefix(name) + n for n in own_admins}

    # one rule for every user name (components/identity.ts userNameRule), with the provider prefix
    # when there are several: every other name is refused at sign-up, login and in the API
    rule = auth.string("userNameRule")
    prefixes = "(?:%s)" % "|".join(re.escape(prefix(p)) for p in sorted(providers)) if logins else ""
    pattern = f"^{prefixes}{rule}$"
    try:
        re.compile(pattern)
    except re.error as e:
        raise auth.error("userNameRule", f"not a regular expression: {e}") from e
    c.Authenticator.username_pattern = pattern
    # the MultiAuthenticator and every provider see the same set of hub names
    c.Authenticator.admin_users = admins
    # the stack config is the truth: a name removed from an allow list can no longer log in
    # (JupyterHub 5 would otherwise keep allowing every user already in its database)
    c.Authenticator.allow_existing_users = False

    # the groups the stack config owns: created and filled at start, extra members removed (gmap_hub.groups)
    c.JupyterHub.load_groups = load_groups(auth.raw("groups", []))

    if logins:
        c.JupyterHub.authenticator_class = MULTI_AUTHENTICATOR
        c.MultiAuthenticator.authenticators = [
            {
                "authenticator_class": registry[p].multi_authenticator,
                "url_prefix": logins[p].string("urlPrefix"),
                # the button says "Sign in with <login service>"
                "config": {"login_service": logins[p].string("service")},
                # read by gmap_hub.auth.GmapMultiAuthenticator
                "username_prefix": prefix(p),
            }
            for p in providers
        ]
    else:
        c.JupyterHub.authenticator_class = registry[providers[0]].authenticator


def several_logins(auth: Section, providers: list[str]) -> dict[str, Section]:
    """``auth.logins`` of each enabled provider, when there are several: URL and user-name
    prefixes must tell the providers apart."""
    logins = auth.section("logins")
    found = {p: logins.section(p) for p in providers}
    for key in ("urlPrefix", "userNamePrefix"):
        seen: set[str] = set()
        for login in found.values():
            value = login.string(key)
            if not value:
                raise login.error(key, "must not be empty with several providers")
            if value in seen:
                raise login.error(key, f"{value!r} is also the {key} of another provider")
            seen.add(value)
    return found
