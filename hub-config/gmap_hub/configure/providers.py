"""The registry of sign-in providers: one :class:`~.sign_in.Provider` entry per name of ``auth.providers``.

A new provider is an entry here and its configure module; its login facts (service name, URL
prefix, user-name prefix) travel in settings.json ``auth.logins`` (components/identity.ts).
"""

from __future__ import annotations

from nativeauthenticator import NativeAuthenticator
from oauthenticator.github import GitHubOAuthenticator
from oauthenticator.gitlab import GitLabOAuthenticator

from .github import configure_github
from .gitlab import configure_gitlab
from .native import configure_native, refuse_native_accounts
from .sign_in import Provider

#: MultiAuthenticator subclass used with several providers.
MULTI_AUTHENTICATOR = "gmap_hub.auth.GmapMultiAuthenticator"

#: Provider name -> its entry, in the order the hub configures them.
PROVIDERS: dict[str, Provider] = {
    "native": Provider(
        # NativeAuthenticator whose admin accounts the deployment creates
        authenticator="gmap_hub.auth.GmapNativeAuthenticator",
        multi_authenticator="gmap_hub.auth.MultiNativeAuthenticator",
        upstream=NativeAuthenticator,
        configure=configure_native,
        disabled=refuse_native_accounts,
    ),
    "github": Provider(
        authenticator="oauthenticator.github.GitHubOAuthenticator",
        multi_authenticator="oauthenticator.github.GitHubOAuthenticator",
        upstream=GitHubOAuthenticator,
        configure=configure_github,
    ),
    "gitlab": Provider(
        # OAuthenticator's, with its subgroup membership check fixed (jupyterhub/oauthenticator#423)
        authenticator="gmap_hub.auth.GmapGitLabOAuthenticator",
        multi_authenticator="gmap_hub.auth.GmapGitLabOAuthenticator",
        upstream=GitLabOAuthenticator,
        configure=configure_gitlab,
    ),
}
