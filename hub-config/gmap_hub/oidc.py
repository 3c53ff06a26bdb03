"""Sign-in with any OpenID Connect provider (auth.oidc): GmapOIDCAuthenticator.

OAuthenticator 17.4's GenericOAuthenticator speaks the code flow but reads no discovery document and
decodes the ID token without checking its signature or issuer. This class reads the issuer's
discovery document at the first sign-in (the endpoints, the key set's URL), verifies every ID token
against the issuer's published keys (signature by ``kid``, issuer, audience, expiry; the key set is
read again once when a token names an unknown key, as after a key rotation), and lets users in by
their groups claim or by any claim's values besides OAuthenticator's own rules (allowAll, users,
admins). With ``manage_groups`` the groups claim becomes the user's JupyterHub groups.
"""

from __future__ import annotations

import time

import jwt
from oauthenticator.generic import GenericOAuthenticator
from oauthenticator.oauth2 import OAuthLoginHandler
from tornado import web
from traitlets import Dict, Integer, List, Set, Unicode

#: Signature algorithms an ID token may use (asymmetric only: the client secret never signs).
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


def claim_values(claims: dict, name: str) -> set[str]:
    """A claim's values as strings: a list, a single value, or none."""
    value = claims.get(name)
    if value is None:
        return set()
    return {str(v) for v in value} if isinstance(value, (list, tuple, set)) else {str(value)}


class OIDCLoginHandler(OAuthLoginHandler):
    """OAuthenticator's login redirect, once the provider's endpoints are known."""

    async def get(self):
        await self.authenticator.discover()
        return super().get()


class GmapOIDCAuthenticator(GenericOAuthenticator):
    """GenericOAuthenticator for OpenID Connect: discovery, verified ID tokens, claim rules."""

    login_handler = OIDCLoginHandler

    issuer = Unicode("", config=True, help="The provider's issuer URL; <issuer>/.well-known/openid-configuration is read at the first sign-in.")
    groups_claim = Unicode("groups", config=True, help="The claim that lists the user's groups.")
    allowed_claim_groups = Set(Unicode(), config=True, help="Users with one of these values in the groups claim may sign in.")
    allowed_claims = Dict(key_trait=Unicode(), value_trait=List(Unicode()), config=True, help="Users with one of the listed values in a claim may sign in.")
    id_token_leeway = Integer(60, config=True, help="Seconds of clock difference accepted on the ID token's times.")
    jwks_uri = Unicode("", help="The key set's URL, from the discovery document.")

    _keys: dict | None = None
    _keys_read = 0.0

    async def discover(self) -> None:
        """The endpoints from the issuer's discovery document, read once (at the first sign-in after
        the hub's start, so that a provider that cannot be reached does not keep the hub from
        starting); a document of another issuer is refused. Until it is read, sign-ins answer 503."""
        if self.jwks_uri:
            return
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            document = await self.httpfetch(url, label="reading the OpenID Connect discovery document", parse_json=True)
        except Exception as e:  # noqa: BLE001 - any failure: the provider cannot be used now
            self.log.error("OpenID Connect: could not read %s: %s", url, e)
            raise web.HTTPError(503, "The sign-in provider cannot be reached right now; try again in a minute") from e
        if (document.get("issuer") or "").rstrip("/") != self.issuer.rstrip("/"):
            self.log.error("OpenID Connect: %s names the issuer %r, not %r (auth.oidc.issuer)", url, document.get("issuer"), self.issuer)
            raise web.HTTPError(503, "The sign-in provider is configured with another issuer than it names itself (auth.oidc.issuer)")
        missing = [key for key in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(key)]
        if missing:
            self.log.error("OpenID Connect: %s has no %s", url, ", ".join(missing))
            raise web.HTTPError(503, "The sign-in provider's discovery document is incomplete")
        self.authorize_url = document["authorization_endpoint"]
        self.token_url = document["token_endpoint"]
        self.jwks_uri = document["jwks_uri"]
        self.log.info("OpenID Connect provider %s: authorize %s, token %s, keys %s", self.issuer, self.authorize_url, self.token_url, self.jwks_uri)

    async def get_token_info(self, handler, params):
        """OAuthenticator's token exchange, once the endpoints are known (a callback may come first
        after a hub restart)."""
        await self.discover()
        return await super().get_token_info(handler, params)

    async def _key(self, kid: str | None):
        """The published key of ``kid`` (the only one when the token names none); the key set is read
        again, at most every 10 s, when the key is unknown."""
        for fresh in (False, True):
            if fresh or self._keys is None:
                if fresh and time.monotonic() - self._keys_read < 10:
                    break
                document = await self.httpfetch(self.jwks_uri, label="fetching the OpenID Connect keys", parse_json=True)
                self._keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(document).keys}
                self._keys_read = time.monotonic()
            if kid in self._keys:
                return self._keys[kid]
            if kid is None and len(self._keys) == 1:
                return next(iter(self._keys.values()))
        raise web.HTTPError(403, "The sign-in was refused: the provider's ID token is signed by a key it does not publish")

    async def verified_claims(self, id_token: str) -> dict:
        """The ID token's claims once its signature, issuer, audience and times are verified."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as e:
            raise web.HTTPError(403, "The sign-in was refused: the provider's ID token is malformed") from e
        key = await self._key(header.get("kid"))
        try:
            claims = jwt.decode(
                id_token,
                key.key,
                algorithms=[a for a in ALGORITHMS if a == header.get("alg")],
                audience=self.client_id,
                issuer=self.issuer,
                leeway=self.id_token_leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as e:
            self.log.warning("OpenID Connect ID token refused: %s", e)
            raise web.HTTPError(403, "The sign-in was refused: the provider's ID token could not be verified") from e
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise web.HTTPError(403, "The sign-in was refused: the ID token was issued to another client")
        return claims

    async def token_to_user(self, token_info: dict) -> dict:
        """The user's claims from the verified ID token (never from an unverified one)."""
        id_token = token_info.get("id_token")
        if not id_token:
            raise web.HTTPError(403, "The sign-in was refused: the provider sent no ID token (auth.oidc.scopes must include openid)")
        return await self.verified_claims(id_token)

    async def check_allowed(self, username: str, auth_model: dict) -> bool:
        """OAuthenticator's rules, then a value of the groups claim or of an allowed claim."""
        if await super().check_allowed(username, auth_model):
            return True
        claims = (auth_model.get("auth_state") or {}).get(self.user_auth_state_key) or {}
        if claim_values(claims, self.groups_claim) & self.allowed_claim_groups:
            return True
        return any(claim_values(claims, claim) & set(values) for claim, values in self.allowed_claims.items())


class GroupsClaim:
    """OAuthenticator's ``auth_state_groups_key`` with manage_groups: the user's JupyterHub groups
    are the values of the groups claim (of the verified ID token, in the auth state's ``oauth_user``)."""

    def __init__(self, claim: str, user_key: str = "oauth_user"):
        self.claim = claim
        self.user_key = user_key

    def __call__(self, auth_state: dict) -> list[str]:
        return sorted(claim_values(auth_state.get(self.user_key) or {}, self.claim))
