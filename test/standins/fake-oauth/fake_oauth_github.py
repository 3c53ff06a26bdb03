"""The fake GitHub REST API under <base>/api/v3 (fake_oauth.py lists the endpoints)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:
    from fake_oauth_http import Handler
    from fake_oauth_state import Provider


def github_api(handler: Handler, provider: Provider, path: str, query: dict) -> None:
    found = handler._token_user(provider)
    if found is None:
        return handler._json(401, {"message": "Bad credentials"})
    user, grant = found
    scopes = set(grant["scopes"])
    if path == "/user":
        return handler._json(
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
            return handler._json(404, {"message": "Not Found"})
        email = user.get("email") or f"{user['login']}@users.noreply.example.org"
        return handler._json(200, [{"email": email, "primary": True, "verified": True, "visibility": "private"}])
    if path == "/user/teams":
        if "read:org" not in scopes:
            return handler._json(403, {"message": "Resource not accessible: read:org scope needed"})
        teams = []
        for entry in user.get("teams", []):
            org, _, slug = entry.partition(":")
            teams.append({"slug": slug, "name": slug, "organization": {"login": org}})
        return handler._json(200, teams)
    m = re.fullmatch(r"/orgs/([^/]+)/members/([^/]+)", path)
    if m:
        org, login = unquote(m.group(1)).lower(), unquote(m.group(2))
        member = provider.find(login)
        orgs = {o.lower() for o in (member or {}).get("orgs", [])}
        public = {o.lower() for o in (member or {}).get("publicOrgs", [])}
        visible = org in public or (org in orgs and "read:org" in scopes)
        return handler._send(204) if member and visible else handler._json(404, {"message": "Not Found"})
    m = re.fullmatch(r"/orgs/([^/]+)/teams/([^/]+)/members/([^/]+)", path)
    if m:
        org, team, login = (unquote(g) for g in m.groups())
        member = provider.find(login)
        teams = {t.lower() for t in (member or {}).get("teams", [])}
        visible = "read:org" in scopes and f"{org}:{team}".lower() in teams
        return handler._send(204) if member and visible else handler._json(404, {"message": "Not Found"})
    return handler._json(404, {"message": "Not Found"})
