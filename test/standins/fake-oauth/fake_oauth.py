#!/usr/bin/env python3
"""A fake GitHub and GitLab OAuth provider for the end-to-end tests (Python standard library only).

It implements what OAuthenticator 17 (GitHubOAuthenticator, GitLabOAuthenticator) calls, with
users and memberships from a JSON config, and approves a login without asking for a password:

GitHub, under ``github.basePath`` (default ``/github``, so ``github_url`` is
``http://<host>:<port>/github``, the GitHub Enterprise Server layout):
    GET|POST <base>/login/oauth/authorize       authorize: ``login`` (query or form) picks the user;
                                                 without it a form asks for one
    POST     <base>/login/oauth/access_token     code -> token (client secret, redirect_uri, PKCE)
    GET      <base>/api/v3/user                  the token's user
    GET      <base>/api/v3/user/emails           (scope user or user:email)
    GET      <base>/api/v3/user/teams            (scope read:org)
    GET      <base>/api/v3/orgs/<org>/members/<login>               204 member, 404 not (private
                                                 memberships need scope read:org)
    GET      <base>/api/v3/orgs/<org>/teams/<team>/members/<login>  204 member (scope read:org)

GitLab, under ``gitlab.basePath`` (default ``/gitlab``, so ``gitlab_url`` is
``http://<host>:<port>/gitlab``, a self-hosted instance under a path):
    GET|POST <base>/oauth/authorize, POST <base>/oauth/token
    GET      <base>/api/v4/user, <base>/api/v4/version
    GET      <base>/api/v4/groups/<path or id>/members[/all]/<user id>   200 member (``all``:
                                                 also inherited from parent groups), 404 not;
                                                 scope read_api. Like GitLab, the path is one
                                                 URL-encoded segment (``gmap%2Fscience``) decoded
                                                 once: ``gmap%252Fscience`` is no group.
    GET      <base>/api/v4/projects/<id>/members[/all]/<user id>          200 with access_level

Test helpers: ``GET /health``; ``GET /_fake/requests`` lists the authorize and token requests
(provider, client_id, redirect_uri, scope, login) in order.

Config: JSON in the environment variable FAKE_OAUTH_CONFIG, or a file named by
FAKE_OAUTH_CONFIG_FILE; port FAKE_OAUTH_PORT (default 8080)::

    {"github": {"clientId": "...", "clientSecret": "...", "redirectUris": ["http://.../oauth_callback"],
                "users": [{"login": "octo", "id": 1, "email": null, "orgs": ["org"],
                           "publicOrgs": [], "teams": ["org:team-slug"]}]},
     "gitlab": {"clientId": "...", "clientSecret": "...", "redirectUris": [], "version": "17.5.0",
                "users": [{"username": "tanuki", "id": 101, "groups": {"gmap/science": 30},
                           "projects": {"42": 30}}]}}

An empty ``redirectUris`` accepts any redirect URI. Group and project values are access levels
(30 = developer); a list of group paths means developer in each.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

CODE_TTL = 600
DEFAULT_BASES = {"github": "/github", "gitlab": "/gitlab"}


class Provider:
    def __init__(self, name: str, cfg: dict):
        self.name = name
        self.base = "/" + cfg.get("basePath", DEFAULT_BASES[name]).strip("/")
        self.client_id = cfg["clientId"]
        self.client_secret = cfg["clientSecret"]
        self.redirect_uris = list(cfg.get("redirectUris", []))
        self.version = cfg.get("version", "17.5.0")
        self.users = list(cfg.get("users", []))
        key = "login" if name == "github" else "username"
        for i, u in enumerate(self.users):
            if not isinstance(u.get(key), str) or not isinstance(u.get("id"), int):
                raise ValueError(f"{name}.users[{i}] needs a string {key!r} and an integer 'id'")

    def login_of(self, user: dict) -> str:
        return user["login"] if self.name == "github" else user["username"]

    def find(self, login: str) -> dict | None:
        return next((u for u in self.users if self.login_of(u).lower() == login.lower()), None)

    def find_id(self, uid: int) -> dict | None:
        return next((u for u in self.users if u["id"] == uid), None)


class State:
    def __init__(self, config: dict):
        self.providers = {name: Provider(name, config[name]) for name in ("github", "gitlab") if name in config}
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


def _pkce_ok(challenge: str | None, method: str | None, verifier: str | None) -> bool:
    if not challenge:
        return True
    if not verifier:
        return False
    if (method or "plain") == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=") == challenge
    return verifier == challenge


def _gitlab_levels(value) -> dict[str, int]:
    if isinstance(value, list):
        return {str(k): 30 for k in value}
    return {str(k): int(v) for k, v in (value or {}).items()}


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-oauth/1"
    protocol_version = "HTTP/1.1"

    @property
    def state(self) -> State:
        return self.server.state  # type: ignore[attr-defined]

    # -- plumbing ---------------------------------------------------------------------------------
    def log_message(self, fmt, *args):
        sys.stderr.write("fake-oauth: %s %s\n" % (self.address_string(), fmt % args))

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json", headers: dict | None = None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body or status not in (204, 302):
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data) -> None:
        self._send(status, json.dumps(data).encode("utf-8"))

    def _html(self, status: int, title: str, body: str) -> None:
        page = f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
        self._send(status, page.encode("utf-8"), "text/html; charset=utf-8")

    def _form(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        return dict(parse_qsl(raw, keep_blank_values=True))

    def _route(self):
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        for provider in self.state.providers.values():
            if parts.path == provider.base or parts.path.startswith(provider.base + "/"):
                return provider, parts.path[len(provider.base) :], query
        return None, parts.path, query

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        provider, path, query = self._route()
        if provider is None:
            if path == "/health":
                return self._send(200, b"ok\n", "text/plain")
            if path == "/_fake/requests":
                with self.state.lock:
                    return self._json(200, list(self.state.requests))
            return self._json(404, {"message": "Not Found"})
        if path in ("/login/oauth/authorize", "/oauth/authorize"):
            return self._authorize(provider, query)
        if provider.name == "github" and path.startswith("/api/v3/"):
            return self._github_api(provider, path[len("/api/v3") :], query)
        if provider.name == "gitlab" and path.startswith("/api/v4/"):
            return self._gitlab_api(provider, path[len("/api/v4") :], query)
        return self._json(404, {"message": "Not Found"})

    def do_POST(self):
        provider, path, query = self._route()
        form = self._form()
        if provider is None:
            return self._json(404, {"message": "Not Found"})
        if path in ("/login/oauth/authorize", "/oauth/authorize"):
            return self._authorize(provider, {**query, **form})
        if (provider.name, path) in (("github", "/login/oauth/access_token"), ("gitlab", "/oauth/token")):
            return self._token(provider, {**query, **form})
        return self._json(404, {"message": "Not Found"})

    # -- authorize --------------------------------------------------------------------------------
    def _authorize(self, provider: Provider, params: dict) -> None:
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        login = params.get("login", "").strip()
        self._record(provider, "authorize", client_id=client_id, redirect_uri=redirect_uri, scope=params.get("scope", ""), login=login)
        if client_id != provider.client_id:
            return self._html(400, "Unknown application", f"<p>client_id {html.escape(client_id)!s} is not registered.</p>")
        if provider.redirect_uris and redirect_uri not in provider.redirect_uris:
            return self._html(
                400,
                "Redirect URI mismatch",
                f'<p id="error">The redirect_uri {html.escape(redirect_uri)} is not registered for this application.</p>',
            )
        if provider.name == "gitlab" and params.get("response_type") != "code":
            return self._html(400, "Unsupported response type", "<p>response_type must be code</p>")
        if params.get("deny"):
            denied = {"error": "access_denied", "error_description": "The user denied access", "state": params.get("state", "")}
            return self._redirect_back(redirect_uri, denied)
        user = provider.find(login) if login else None
        if user is None:
            hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items() if k not in ("login", "deny"))
            error = f'<p id="error">No user {html.escape(login)}.</p>' if login else ""
            action = provider.base + ("/login/oauth/authorize" if provider.name == "github" else "/oauth/authorize")
            form = (
                f'{error}<form method="post" action="{html.escape(action)}">'
                f'{hidden}<label for="login">Login</label> <input id="login" name="login" autofocus>'
                ' <button type="submit" id="authorize">Authorize</button></form>'
            )
            return self._html(401 if login else 200, f"Sign in to fake {provider.name}", form)
        code = secrets.token_urlsafe(24)
        with self.state.lock:
            self.state.codes[code] = {
                "login": provider.login_of(user),
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": params.get("scope", ""),
                "challenge": params.get("code_challenge"),
                "method": params.get("code_challenge_method"),
                "expires": time.time() + CODE_TTL,
                "provider": provider.name,
            }
        return self._redirect_back(redirect_uri, {"code": code, "state": params.get("state", "")})

    def _redirect_back(self, redirect_uri: str, params: dict) -> None:
        parts = urlsplit(redirect_uri)
        query = parts.query + ("&" if parts.query else "") + urlencode({k: v for k, v in params.items() if v != ""})
        self._send(302, headers={"Location": urlunsplit(parts._replace(query=query))})

    def _record(self, provider: Provider, kind: str, **fields) -> None:
        with self.state.lock:
            self.state.requests.append({"provider": provider.name, "kind": kind, **fields})
            del self.state.requests[:-500]

    # -- token ------------------------------------------------------------------------------------
    def _token(self, provider: Provider, form: dict) -> None:
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
        self._record(provider, "token", client_id=client_id, redirect_uri=form.get("redirect_uri", ""), scope="", login="")

        def error(status_github: int, status_gitlab: int, code: str, description: str):
            # GitHub answers OAuth errors with 200 and an error object; GitLab with 4xx
            status = status_github if provider.name == "github" else status_gitlab
            return self._json(status, {"error": code, "error_description": description})

        if client_id != provider.client_id or not secrets.compare_digest(client_secret, provider.client_secret):
            return error(200, 401, "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
        if form.get("grant_type", "authorization_code") != "authorization_code":
            return error(200, 400, "unsupported_grant_type", "only authorization_code")
        with self.state.lock:
            grant = self.state.codes.pop(form.get("code", ""), None)
        if grant is None or grant["expires"] < time.time() or grant["provider"] != provider.name or grant["client_id"] != client_id:
            return error(200, 400, "bad_verification_code", "The code passed is incorrect or expired.")
        if form.get("redirect_uri", grant["redirect_uri"]) != grant["redirect_uri"]:
            return error(200, 400, "redirect_uri_mismatch", "The redirect_uri does not match the authorization request.")
        if not _pkce_ok(grant["challenge"], grant["method"], form.get("code_verifier")):
            return error(200, 400, "invalid_grant", "PKCE verification failed.")
        scopes = [s for s in re.split(r"[\s,]+", grant["scope"]) if s]
        token = ("gho_" if provider.name == "github" else "glpat-") + secrets.token_urlsafe(24)
        with self.state.lock:
            self.state.tokens[token] = {"provider": provider.name, "login": grant["login"], "scopes": scopes}
        if provider.name == "github":
            return self._json(200, {"access_token": token, "token_type": "bearer", "scope": ",".join(scopes)})
        return self._json(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 7200,
                "refresh_token": secrets.token_urlsafe(24),
                "scope": " ".join(scopes),
                "created_at": int(time.time()),
            },
        )

    def _token_user(self, provider: Provider) -> tuple[dict, dict] | None:
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        with self.state.lock:
            grant = self.state.tokens.get(token.strip())
        if not grant or grant["provider"] != provider.name:
            return None
        user = provider.find(grant["login"])
        return (user, grant) if user else None

    # -- GitHub API -------------------------------------------------------------------------------
    def _github_api(self, provider: Provider, path: str, query: dict) -> None:
        found = self._token_user(provider)
        if found is None:
            return self._json(401, {"message": "Bad credentials"})
        user, grant = found
        scopes = set(grant["scopes"])
        if path == "/user":
            return self._json(
                200,
                {
                    "login": user["login"],
                    "id": user["id"],
                    "node_id": f"U_{user['id']}",
                    "type": "User",
                    "site_admin": False,
                    "name": user.get("name", user["login"]),
                    "email": user.get("email"),
                },
            )
        if path == "/user/emails":
            if not scopes & {"user", "user:email"}:
                return self._json(404, {"message": "Not Found"})
            email = user.get("email") or f"{user['login']}@users.noreply.example.org"
            return self._json(200, [{"email": email, "primary": True, "verified": True, "visibility": "private"}])
        if path == "/user/teams":
            if "read:org" not in scopes:
                return self._json(403, {"message": "Resource not accessible: read:org scope needed"})
            teams = []
            for entry in user.get("teams", []):
                org, _, slug = entry.partition(":")
                teams.append({"slug": slug, "name": slug, "organization": {"login": org}})
            return self._json(200, teams)
        m = re.fullmatch(r"/orgs/([^/]+)/members/([^/]+)", path)
        if m:
            org, login = unquote(m.group(1)).lower(), unquote(m.group(2))
            member = provider.find(login)
            orgs = {o.lower() for o in (member or {}).get("orgs", [])}
            public = {o.lower() for o in (member or {}).get("publicOrgs", [])}
            visible = org in public or (org in orgs and "read:org" in scopes)
            return self._send(204) if member and visible else self._json(404, {"message": "Not Found"})
        m = re.fullmatch(r"/orgs/([^/]+)/teams/([^/]+)/members/([^/]+)", path)
        if m:
            org, team, login = (unquote(g) for g in m.groups())
            member = provider.find(login)
            teams = {t.lower() for t in (member or {}).get("teams", [])}
            visible = "read:org" in scopes and f"{org}:{team}".lower() in teams
            return self._send(204) if member and visible else self._json(404, {"message": "Not Found"})
        return self._json(404, {"message": "Not Found"})

    # -- GitLab API -------------------------------------------------------------------------------
    def _gitlab_api(self, provider: Provider, path: str, query: dict) -> None:
        found = self._token_user(provider)
        if found is None:
            return self._json(401, {"message": "401 Unauthorized"})
        user, grant = found
        scopes = set(grant["scopes"])
        if path == "/user":
            return self._json(
                200,
                {
                    "id": user["id"],
                    "username": user["username"],
                    "name": user.get("name", user["username"]),
                    "email": user.get("email"),
                    "state": "active",
                },
            )
        if path == "/version":
            return self._json(200, {"version": provider.version, "revision": "fake"})
        # like GitLab: a group path is one URL-encoded segment (gmap%2Fscience), decoded once
        m = re.fullmatch(r"/(groups|projects)/([^/]+)/members(/all)?/(\d+)", path)
        if m:
            if not scopes & {"read_api", "api"}:
                return self._json(403, {"error": "insufficient_scope", "error_description": "read_api scope needed"})
            kind, target, inherited, uid = m.group(1), unquote(m.group(2)), bool(m.group(3)), int(m.group(4))
            member = provider.find_id(uid)
            level = 0
            if member and kind == "groups":
                target = target.strip("/").lower()
                for group, lvl in _gitlab_levels(member.get("groups")).items():
                    g = group.strip("/").lower()
                    if g == target or (inherited and target.startswith(g + "/")):
                        level = max(level, lvl)
            elif member:
                level = _gitlab_levels(member.get("projects")).get(target, 0)
            if not level:
                return self._json(404, {"message": "404 Not found"})
            return self._json(200, {"id": member["id"], "username": member["username"], "state": "active", "access_level": level})
        return self._json(404, {"message": "404 Not found"})


def make_server(config: dict, host: str = "0.0.0.0", port: int = 8080) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    server.state = State(config)  # type: ignore[attr-defined]
    return server


def main() -> None:
    port = int(os.environ.get("FAKE_OAUTH_PORT", "8080"))
    server = make_server(load_config(), port=port)
    providers = ", ".join(f"{p.name} at {p.base} ({len(p.users)} users)" for p in server.state.providers.values())  # type: ignore[attr-defined]
    sys.stderr.write(f"fake-oauth: listening on :{port}: {providers}\n")
    sys.stderr.flush()
    # PID 1 in a container: without a handler SIGTERM would be ignored
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
