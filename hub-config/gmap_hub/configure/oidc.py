"""Sign-in with any OpenID Connect provider (gmap_hub.oidc.GmapOIDCAuthenticator): EGI Check-in, an
institution's Keycloak, ... The provider's endpoints come from its discovery document at start."""

from __future__ import annotations

from oauthenticator.generic import GenericOAuthenticator

from ..oidc import GroupsClaim
from .oauth import base_url, configure_common
from .sign_in import Provider, SignIn


def configure_oidc(c, sign_in: SignIn) -> set[str]:
    """``auth.oidc`` and its client secret; returns the provider's admins."""
    oidc = sign_in.auth.section("oidc")
    o = c.GmapOIDCAuthenticator
    admins = configure_common(o, oidc, "oidc", sign_in)
    o.issuer = base_url(oidc, "issuer")
    o.scope = oidc.strings("scopes")
    # the user's claims come from the verified ID token (GmapOIDCAuthenticator.token_to_user)
    o.userdata_from_id_token = True
    o.username_claim = oidc.string("usernameClaim")
    o.groups_claim = oidc.string("groupsClaim")
    o.allowed_claim_groups = set(oidc.strings("allowedGroups"))
    o.allowed_claims = {claim: list(values) for claim, values in oidc.raw("allowedClaims").items()}
    if oidc.boolean("manageGroups", False):
        # the user's JupyterHub groups are the groups claim's values, at every sign-in
        o.manage_groups = True
        o.auth_state_groups_key = GroupsClaim(oidc.string("groupsClaim"))
    if oidc.has("displayName"):
        o.login_service = oidc.string("displayName")
    return admins


PROVIDER = Provider(
    authenticator="gmap_hub.oidc.GmapOIDCAuthenticator",
    multi_authenticator="gmap_hub.oidc.GmapOIDCAuthenticator",
    upstream=GenericOAuthenticator,
    configure=configure_oidc,
)
