"""What the OAuth providers share: the callback URL check, explicit allow lists, base URLs."""

from __future__ import annotations

from urllib.parse import urlparse

from ..settings import Section
from .sign_in import SignIn


def callback_url(section: Section, provider: str, url_prefix: str) -> str:
    """The callback URL as given (components/identity.ts derives it from the public URL); checked
    against the path the provider's callback handler is served at (under its URL prefix, if any)."""
    url = section.string("callbackUrl")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise section.error("callbackUrl", f"expected an http(s) URL, got {url!r}")
    handler = "/hub" + url_prefix + "/oauth_callback"
    if not parsed.path.rstrip("/").endswith(handler):
        why = " (several providers: each has its own prefix)" if url_prefix else ""
        raise section.error("callbackUrl", f"the {provider} callback handler is served at <public URL>{handler}{why}, got {url!r}")
    return url


def oauth_users(section: Section) -> set[str]:
    """Explicitly allowed users of a provider: allowedUsers and the provider's admins.

    OAuthenticator lets its admins in by itself only when their bare login is in admin_users;
    with several providers admin_users holds prefixed names, so admins are allowed explicitly.
    """
    return set(section.strings("allowedUsers", [])) | set(section.strings("admins", []))


def base_url(section: Section, key: str) -> str:
    """An http(s) base URL without query or fragment, trailing slashes removed."""
    url = section.string(key)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise section.error(key, f"expected an http(s) base URL without query or fragment, got {url!r}")
    return url.rstrip("/")


def configure_common(config, section: Section, provider: str, sign_in: SignIn) -> set[str]:
    """The keys every OAuth provider's section has (components/providers/provider.ts oauthCommon)
    on the authenticator's ``config``: client id and secret (``<provider>ClientSecret``), callback URL,
    explicit allow lists; returns the provider's admins."""
    config.client_id = section.string("clientId")
    config.client_secret = sign_in.secrets.string(f"{provider}ClientSecret")
    config.oauth_callback_url = callback_url(section, provider, sign_in.url_prefix)
    config.allowed_users = oauth_users(section)
    config.allow_all = section.boolean("allowAll", False)
    return set(section.strings("admins", []))
