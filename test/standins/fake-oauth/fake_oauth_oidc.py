"""The fake OpenID Connect provider under <base> (default /oidc; fake_oauth.py lists the endpoints):
discovery, the signing keys (JWKS), ID tokens signed with RS256, userinfo. A user whose config says
``"signWithOtherKey": true`` gets ID tokens signed by a key that is not in the JWKS (same ``kid``),
as a forged token would be."""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

if TYPE_CHECKING:
    from fake_oauth_http import Handler
    from fake_oauth_state import Provider

KID = "fake-oauth-1"
ID_TOKEN_TTL = 300


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _int(n: int) -> str:
    return _b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Keys:
    """The provider's signing key (published in the JWKS) and another one (never published)."""

    def __init__(self):
        self.signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict:
        numbers = self.signing.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID, "n": _int(numbers.n), "e": _int(numbers.e)}]}

    def sign(self, claims: dict, other: bool = False) -> str:
        header = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": KID}).encode())
        payload = _b64(json.dumps(claims).encode())
        key = self.other if other else self.signing
        signature = key.sign(f"{header}.{payload}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{payload}.{_b64(signature)}"


def issuer(handler: Handler, provider: Provider) -> str:
    """The issuer: the configured one, else this server as the client reached it."""
    return provider.issuer or f"http://{handler.headers.get('Host', 'localhost')}{provider.base}"


def claims_of(provider: Provider, user: dict) -> dict:
    """The user's claims: sub, preferred_username, email, groups, and any others of the config."""
    claims = {"sub": user["sub"], "preferred_username": user["preferred_username"], "email": user.get("email"), "groups": user.get("groups", [])}
    claims.update(user.get("claims", {}))
    return {k: v for k, v in claims.items() if v is not None}


def id_token(handler: Handler, provider: Provider, user: dict, client_id: str, nonce: str | None) -> str:
    now = int(time.time())
    claims = {"iss": issuer(handler, provider), "aud": client_id, "iat": now, "exp": now + ID_TOKEN_TTL, **claims_of(provider, user)}
    if nonce:
        claims["nonce"] = nonce
    return provider.keys.sign(claims, other=bool(user.get("signWithOtherKey")))


def oidc_get(handler: Handler, provider: Provider, path: str) -> None:
    if path == "/.well-known/openid-configuration":
        base = issuer(handler, provider)
        return handler._json(
            200,
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email", "groups"],
                "code_challenge_methods_supported": ["S256", "plain"],
            },
        )
    if path == "/jwks":
        return handler._json(200, provider.keys.jwks())
    if path == "/userinfo":
        found = handler._token_user(provider)
        if found is None:
            return handler._json(401, {"error": "invalid_token"})
        return handler._json(200, claims_of(provider, found[0]))
    return handler._json(404, {"error": "not_found"})
