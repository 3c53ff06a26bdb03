"""The fake OAuth provider's state: the configured providers and their users, the issued codes and
tokens, the request log (fake_oauth.py documents the config)."""

from __future__ import annotations

import json
import os
import threading

CODE_TTL = 600
DEFAULT_BASES = {"github": "/github", "gitlab": "/gitlab", "oidc": "/oidc"}
#: The key of a user's login (what the authorize form asks for) per provider.
LOGIN_KEYS = {"github": "login", "gitlab": "username", "oidc": "preferred_username"}


class Provider:
    def __init__(self, name: str, cfg: dict):
        self.name = name
        self.base = "/" + cfg.get("basePath", DEFAULT_BASES[name]).strip("/")
        self.client_id = cfg["clientId"]
        self.client_secret = cfg["clientSecret"]
        self.redirect_uris = list(cfg.get("redirectUris", []))
        self.version = cfg.get("version", "17.5.0")
        self.users = list(cfg.get("users", []))
        key = LOGIN_KEYS[name]
        ident, kind = ("sub", str) if name == "oidc" else ("id", int)
        for i, u in enumerate(self.users):
            if not isinstance(u.get(key), str) or not isinstance(u.get(ident), kind):
                raise ValueError(f"{name}.users[{i}] needs a string {key!r} and {'a string' if kind is str else 'an integer'} {ident!r}")
        # OpenID Connect: the issuer it names itself by (default: its own URL as the client reaches it) and its keys
        self.issuer = cfg.get("issuer")
        self.keys = None
        if name == "oidc":
            from fake_oauth_oidc import Keys

            self.keys = Keys()

    def login_of(self, user: dict) -> str:
        return user[LOGIN_KEYS[self.name]]

    def find(self, login: str) -> dict | None:
        return next((u for u in self.users if self.login_of(u).lower() == login.lower()), None)

    def find_id(self, uid: int) -> dict | None:
        return next((u for u in self.users if u["id"] == uid), None)


class State:
    def __init__(self, config: dict):
        self.providers = {name: Provider(name, config[name]) for name in DEFAULT_BASES if name in config}
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.lock = threading.Lock()


def load_config() -> dict:
    text = os.environ.get("FAKE_OAUTH_CONFIG")
    path = os.environ.get("FAKE_OAUTH_CONFIG_FILE")
    if not text and path:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    if not text:
        raise SystemExit("fake-oauth: set FAKE_OAUTH_CONFIG (JSON) or FAKE_OAUTH_CONFIG_FILE")
    return json.loads(text)
