"""Sign-in with native accounts (NativeAuthenticator): password rules, lockout, deployment-made admins."""

from __future__ import annotations

import os

from nativeauthenticator import NativeAuthenticator

from ..settings import Section
from .sign_in import Provider, SignIn
from .traits import TraitTable, set_traits

#: NativeAuthenticator's documented defaults are metadata only (its effective defaults are 0): all set.
NATIVE_TRAITS: TraitTable = (
    ("openSignup", "NativeAuthenticator", "open_signup"),
    ("askEmail", "NativeAuthenticator", "ask_email_on_signup"),
    ("checkCommonPassword", "NativeAuthenticator", "check_common_password"),
    ("minimumPasswordLength", "NativeAuthenticator", "minimum_password_length"),
    ("allowedFailedLogins", "NativeAuthenticator", "allowed_failed_logins"),
    ("secondsBeforeNextTry", "NativeAuthenticator", "seconds_before_next_try"),
)


def configure_native(c, sign_in: SignIn) -> set[str]:
    """Native accounts (``auth.native``, ``auth.admins``, ``auth.allowedUsers``); returns the admins."""
    auth, secrets = sign_in.auth, sign_in.secrets
    admins = auth.strings("admins", [])
    allowed_users = auth.strings("allowedUsers", [])
    hashes = secrets.string_map("nativeAdminPasswordHashes", {})
    missing = sorted(set(admins) - set(hashes))
    if missing:
        raise secrets.error("nativeAdminPasswordHashes", f"no generated password for the admin(s) {', '.join(missing)}")
    c.GmapNativeAuthenticator.admin_password_hashes = {name: hashes[name] for name in admins}
    n = c.NativeAuthenticator
    n.enable_signup = True
    set_traits(c, auth.section("native"), NATIVE_TRAITS)
    if allowed_users:
        # account names; with several providers MultiAuthenticator compares them without prefix
        n.allowed_users = set(allowed_users)
        n.allow_all = False
    else:
        # JupyterHub 5 needs an allow rule; sign-up plus admin approval is the gate
        n.allow_all = True
    # failed logins outlive hub restarts and replacements (the hub-data volume)
    c.GmapNativeAuthenticator.login_attempts_file = os.path.join(sign_in.data_dir, "native-login-attempts.json")
    return set(admins)


def refuse_native_accounts(auth: Section) -> None:
    """Without native sign-in, ``auth.admins`` and ``auth.allowedUsers`` (native accounts) must be empty."""
    for key in ("admins", "allowedUsers"):
        if auth.strings(key, []):
            raise auth.error(key, 'lists native accounts, but "native" is not in providers')


PROVIDER = Provider(
    # NativeAuthenticator whose admin accounts the deployment creates
    authenticator="gmap_hub.auth.GmapNativeAuthenticator",
    multi_authenticator="gmap_hub.auth.MultiNativeAuthenticator",
    upstream=NativeAuthenticator,
    configure=configure_native,
    disabled=refuse_native_accounts,
)
