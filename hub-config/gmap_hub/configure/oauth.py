"""What the OAuth providers share: the callback URL check, explicit allow lists, base URLs."""

from __future__ import annotations

from urllib.parse import urlparse

from ..settings import Section


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
