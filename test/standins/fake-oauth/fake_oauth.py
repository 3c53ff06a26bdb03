#!/usr/bin/env python3
"""A fake GitHub, GitLab and OpenID Connect provider for the end-to-end tests (Python's standard
library, and Debian's python3-cryptography for the ID tokens' RS256 signatures).

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
    GET      <base>/api/v4/groups?min_access_level=N          the user's groups at level N or above
    GET      <base>/api/v4/groups/<path or id>/members[/all]/<user id>   200 member (``all``:
                                                 also inherited from parent groups), 404 not;
                                                 scope read_api. Like GitLab, the path is one
                                                 URL-encoded segment (``gmap%2Fscience``) decoded
                                                 once: ``gmap%252Fscience`` is no group.
    GET      <base>/api/v4/projects/<id>/members[/all]/<user id>          200 with access_level

OpenID Connect, under ``oidc.basePath`` (default ``/oidc``; the issuer is ``oidc.issuer``, default
``http://<Host header><base>``):
    GET      <base>/.well-known/openid-configuration   discovery
    GET|POST <base>/authorize, POST <base>/token       code flow (PKCE; ``nonce`` is put in the ID
                                                 token); the token response has an ``id_token``
                                                 (RS256, ``kid`` fake-oauth-1) when scope has openid
    GET      <base>/jwks                          the signing key
    GET      <base>/userinfo                      the token's user's claims

Test helpers: ``GET /health``; ``GET /_fake/requests`` lists the authorize and token requests
(provider, client_id, redirect_uri, scope, login) in order.

Config: JSON in the environment variable FAKE_OAUTH_CONFIG, or a file named by
FAKE_OAUTH_CONFIG_FILE; port FAKE_OAUTH_PORT (default 8080)::

    {"github": {"clientId": "...", "clientSecret": "...", "redirectUris": ["http://.../oauth_callback"],
                "users": [{"login": "octo", "id": 1, "email": null, "orgs": ["org"],
                           "publicOrgs": [], "teams": ["org:team-slug"]}]},
     "gitlab": {"clientId": "...", "clientSecret": "...", "redirectUris": [], "version": "17.5.0",
                "users": [{"username": "tanuki", "id": 101, "groups": {"gmap/science": 30},
                           "projects": {"42": 30}}]},
     "oidc": {"clientId": "...", "clientSecret": "...", "redirectUris": [], "issuer": null,
              "users": [{"sub": "u-1", "preferred_username": "ada", "email": null,
                         "groups": ["gmap-science"], "claims": {"eduperson_entitlement": ["..."]},
                         "signWithOtherKey": false}]}}

An empty ``redirectUris`` accepts any redirect URI. Group and project values are access levels
(30 = developer); a list of group paths means developer in each.

This file is the entry point (the image's ``fake-oauth`` command); beside it: fake_oauth_state.py
(config, users, codes, tokens), fake_oauth_http.py (HTTP plumbing, routing, authorize, token),
fake_oauth_github.py, fake_oauth_gitlab.py and fake_oauth_oidc.py (the provider APIs; the
OpenID Connect keys are made at start).
"""

from __future__ import annotations

import os
import signal
import sys
from http.server import ThreadingHTTPServer

from fake_oauth_http import Handler
from fake_oauth_state import State, load_config


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
