"""The fake OAuth provider's HTTP side: request plumbing, routing to a provider, the authorize page
and the token endpoint; the provider APIs are in fake_oauth_github.py, fake_oauth_gitlab.py and
fake_oauth_oidc.py."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import sys
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fake_oauth_github import github_api
from fake_oauth_gitlab import gitlab_api
from fake_oauth_oidc import id_token, oidc_get
from fake_oauth_state import CODE_TTL, Provider, State


def _pkce_ok(challenge: str | None, method: str | None, verifier: str | None) -> bool:
    if not challenge:
        return True
    if not verifier:
        return False
    if (method or "plain") == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=") == challenge
    return verifier == challenge


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
        if path in self._authorize_paths(provider):
            return self._authorize(provider, query)
        if provider.name == "oidc":
            return oidc_get(self, provider, path)
        if provider.name == "github" and path.startswith("/api/v3/"):
            return github_api(self, provider, path[len("/api/v3") :], query)
        if provider.name == "gitlab" and path.startswith("/api/v4/"):
            return gitlab_api(self, provider, path[len("/api/v4") :], query)
        return self._json(404, {"message": "Not Found"})

    def do_POST(self):
        provider, path, query = self._route()
        form = self._form()
        if provider is None:
            return self._json(404, {"message": "Not Found"})
        if path in self._authorize_paths(provider):
            return self._authorize(provider, {**query, **form})
        if (provider.name, path) in (("github", "/login/oauth/access_token"), ("gitlab", "/oauth/token"), ("oidc", "/token")):
            return self._token(provider, {**query, **form})
        return self._json(404, {"message": "Not Found"})

    # -- authorize --------------------------------------------------------------------------------
    @staticmethod
    def _authorize_paths(provider: Provider) -> tuple[str, ...]:
        return {"github": ("/login/oauth/authorize",), "gitlab": ("/oauth/authorize",), "oidc": ("/authorize",)}[provider.name]

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
        if provider.name in ("gitlab", "oidc") and params.get("response_type") != "code":
            return self._html(400, "Unsupported response type", "<p>response_type must be code</p>")
        if params.get("deny"):
            denied = {"error": "access_denied", "error_description": "The user denied access", "state": params.get("state", "")}
            return self._redirect_back(redirect_uri, denied)
        user = provider.find(login) if login else None
        if user is None:
            hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items() if k not in ("login", "deny"))
            error = f'<p id="error">No user {html.escape(login)}.</p>' if login else ""
            action = provider.base + self._authorize_paths(provider)[0]
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
                "nonce": params.get("nonce"),
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
        if provider.name == "oidc":
            user = provider.find(grant["login"])
            signed = id_token(self, provider, user, client_id, grant["nonce"]) if "openid" in scopes else None
            body = {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": " ".join(scopes), "id_token": signed}
            return self._json(200, {k: v for k, v in body.items() if v is not None})
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
