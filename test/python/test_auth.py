"""Authenticator class per provider, allow rules (JupyterHub 5), lockout, admins."""

import asyncio
import copy
import inspect

import pytest
from conftest import ADMIN_PASSWORD, ADMIN_PASSWORD_HASH, GITHUB, GITLAB


def resolve(value):
    """The value of a call that may or may not return a coroutine."""
    return asyncio.run(value) if inspect.isawaitable(value) else value


def native_authenticator(app):
    # add_new_table=False: the table lives in the hub database, not needed here
    return app.authenticator_class(add_new_table=False, config=app.config)


def test_native_only(hub, settings, secrets):
    app = hub(settings, secrets)
    assert app.authenticator_class.__module__ + "." + app.authenticator_class.__name__ == ("gmap_hub.auth.GmapNativeAuthenticator")
    auth = native_authenticator(app)
    assert auth.allow_all is True
    assert auth.allowed_users == set()
    assert auth.admin_users == {"admin"}
    assert auth.admin_password_hashes == {"admin": ADMIN_PASSWORD_HASH}
    assert auth.allow_existing_users is False, "a name removed from an allow list can no longer log in"
    assert auth.open_signup is False
    assert auth.enable_signup is True
    assert auth.ask_email_on_signup is False
    assert auth.check_common_password is True
    # set explicitly: NativeAuthenticator's effective defaults are 0
    assert auth.minimum_password_length == 10
    assert auth.allowed_failed_logins == 3
    assert auth.seconds_before_next_try == 600
    assert app.config.NativeAuthenticator.seconds_before_next_try == 600


def test_native_lockout_and_password_rules_follow_settings(hub, settings, secrets):
    settings["auth"]["native"].update(
        openSignup=True,
        minimumPasswordLength=14,
        allowedFailedLogins=5,
        secondsBeforeNextTry=900,
        checkCommonPassword=False,
        askEmail=True,
    )
    auth = native_authenticator(hub(settings, secrets))
    assert (auth.open_signup, auth.minimum_password_length, auth.allowed_failed_logins) == (True, 14, 5)
    assert (auth.seconds_before_next_try, auth.check_common_password, auth.ask_email_on_signup) == (900, False, True)
    assert auth.is_password_strong("x" * 14) and not auth.is_password_strong("x" * 13)


def test_native_allowed_users_replace_allow_all(hub, settings, secrets):
    settings["auth"]["allowedUsers"] = ["ada", "carl"]
    auth = native_authenticator(hub(settings, secrets))
    assert auth.allow_all is False
    assert auth.allowed_users == {"ada", "carl"}


def test_native_admin_without_a_generated_password_fails_the_start(hub, settings, secrets):
    from gmap_hub.settings import SettingsError

    settings["auth"]["admins"] = ["admin", "root2"]
    with pytest.raises(SettingsError, match=r"nativeAdminPasswordHashes.*root2"):
        hub(settings, secrets)


def test_allow_lists_are_the_truth_for_every_provider(hub, settings, secrets):
    settings["auth"].update(providers=["github"], admins=[])
    settings["auth"]["github"] = dict(GITHUB)
    secrets["githubClientSecret"] = "gh-secret"
    app = hub(settings, secrets)
    assert app.config.Authenticator.allow_existing_users is False


def test_github_only(hub, settings, secrets):
    settings["auth"].update(providers=["github"], admins=[])
    settings["auth"]["github"] = copy.deepcopy(GITHUB)
    secrets["githubClientSecret"] = "gh-secret"
    app = hub(settings, secrets)
    from oauthenticator.github import GitHubOAuthenticator

    assert app.authenticator_class is GitHubOAuthenticator
    auth = GitHubOAuthenticator(config=app.config)
    assert auth.client_id == "gh-client-id"
    assert auth.client_secret == "gh-secret"
    assert auth.oauth_callback_url == "http://localhost:8000/hub/oauth_callback"
    assert auth.allowed_organizations == {"europlanet", "europlanet:gmap-team"}
    assert "read:org" in auth.scope
    # the provider's admins are allowed explicitly (see test_multi_auth for why)
    assert auth.allowed_users == {"octocat", "gh-admin"}
    assert auth.allow_all is False
    # one provider: hub names are the bare logins
    assert auth.admin_users == {"gh-admin"}
    assert auth.github_api == "https://api.github.com"


def test_github_enterprise_urls_and_allow_all(hub, settings, secrets):
    settings["auth"].update(providers=["github"], admins=[])
    settings["auth"]["github"] = dict(
        GITHUB, allowedOrganizations=[], allowAll=True, url="https://github.example.org", apiUrl="https://github.example.org/api/v3"
    )
    secrets["githubClientSecret"] = "gh-secret"
    from oauthenticator.github import GitHubOAuthenticator

    auth = GitHubOAuthenticator(config=hub(settings, secrets).config)
    assert auth.allow_all is True
    assert auth.allowed_organizations == set()
    assert "read:org" not in auth.scope
    assert auth.github_url == "https://github.example.org"
    assert auth.authorize_url == "https://github.example.org/login/oauth/authorize"


def test_gitlab_only(hub, settings, secrets):
    settings["auth"].update(providers=["gitlab"], admins=[])
    settings["auth"]["gitlab"] = copy.deepcopy(GITLAB)
    secrets["gitlabClientSecret"] = "gl-secret"
    app = hub(settings, secrets)
    from oauthenticator.gitlab import GitLabOAuthenticator

    # OAuthenticator's class with its subgroup check fixed (test_fake_oauth shows the difference)
    assert app.authenticator_class.__name__ == "GmapGitLabOAuthenticator"
    assert issubclass(app.authenticator_class, GitLabOAuthenticator)
    auth = app.authenticator_class(config=app.config)
    assert auth.gitlab_url == "https://gitlab.example.org"
    assert auth.gitlab_api == "https://gitlab.example.org/api/v4"
    assert auth.client_id == "gl-client-id"
    assert auth.client_secret == "gl-secret"
    assert auth.allowed_gitlab_groups == {"planetary/gmap"}
    assert auth.allowed_project_ids == {42}
    assert auth.allowed_users == {"tanuki", "gl-admin"}
    assert auth.allow_all is False
    assert set(auth.scope) == {"read_user", "read_api"}
    assert auth.admin_users == {"gl-admin"}


def test_several_providers_use_multiauthenticator(hub, settings, secrets):
    settings["auth"]["providers"] = ["native", "github", "gitlab"]
    # components/settings.ts derives a callback URL per provider (each under its own prefix)
    settings["auth"]["github"] = dict(GITHUB, callbackUrl="http://localhost:8000/hub/github/oauth_callback")
    settings["auth"]["gitlab"] = dict(GITLAB, callbackUrl="http://localhost:8000/hub/gitlab/oauth_callback")
    secrets["githubClientSecret"] = "gh-secret"
    secrets["gitlabClientSecret"] = "gl-secret"
    app = hub(settings, secrets, initialize=True)

    multi = app.authenticator
    assert type(multi).__name__ == "GmapMultiAuthenticator"
    entries = app.config.MultiAuthenticator.authenticators
    assert [e["url_prefix"] for e in entries] == ["/native", "/github", "/gitlab"]
    subs = {a.url_scope: a for a in multi._authenticators}
    native, github, gitlab = subs["/native"], subs["/github"], subs["/gitlab"]
    # provider config reaches the wrapped authenticators through their class sections
    assert native.allow_all is True and native.minimum_password_length == 10
    assert github.client_secret == "gh-secret"
    assert github.allowed_organizations == {"europlanet", "europlanet:gmap-team"}
    assert gitlab.client_secret == "gl-secret" and gitlab.allowed_project_ids == {42}
    # each provider's handlers (and so its OAuth callback) live under its prefix
    assert github.oauth_callback_url == "http://localhost:8000/hub/github/oauth_callback"
    assert gitlab.oauth_callback_url == "http://localhost:8000/hub/gitlab/oauth_callback"
    paths = {path for path, _ in multi.get_handlers(app)}
    assert {"/native/signup", "/github/oauth_callback", "/gitlab/oauth_login"} <= paths
    # user names carry the provider prefix, so do the admins of every provider
    assert (native.username_prefix, github.username_prefix, gitlab.username_prefix) == ("native:", "github:", "gitlab:")
    assert multi.admin_users == {"native:admin", "github:gh-admin", "gitlab:gl-admin"}
    assert github.admin_users == multi.admin_users
    # allow rules apply to the name without prefix, and only to the provider's own users
    assert resolve(github.check_allowed("github:octocat", {"admin": False, "auth_state": {}})) is True
    assert resolve(github.check_allowed("gitlab:octocat", {"admin": False, "auth_state": {}})) is False
    # native users live in the hub database, reached through the MultiAuthenticator
    assert native.db is app.db


def test_missing_provider_section_is_reported(hub, settings, secrets):
    from gmap_hub.settings import SettingsError

    settings["auth"]["providers"] = ["native", "github"]
    with pytest.raises(SettingsError, match=r"settings\.json: key auth\.github: missing"):
        hub(settings, secrets)


def test_missing_client_secret_is_reported(hub, settings, secrets):
    from gmap_hub.settings import SettingsError

    settings["auth"].update(providers=["gitlab"], admins=[])
    settings["auth"]["gitlab"] = copy.deepcopy(GITLAB)
    with pytest.raises(SettingsError, match=r"secrets\.json: key gitlabClientSecret: missing"):
        hub(settings, secrets)


def test_native_admin_accounts_come_from_the_deployment_not_from_sign_up(hub, settings, secrets):
    settings["auth"]["allowedUsers"] = ["admin", "ada"]
    settings["culler"]["enabled"] = False
    app = hub(settings, secrets, initialize=True)
    auth = app.authenticator
    other = "Other-Passw0rd-2026"
    # nobody can sign up as the admin, whatever they type
    assert auth.user_exists("admin") and auth.user_exists("Admin")
    assert auth.create_user("admin", other) is None
    # the admin logs in with the generated password; a wrong one is refused
    assert resolve(auth.authenticate(None, {"username": "admin", "password": other})) is None
    assert resolve(auth.authenticate(None, {"username": "admin", "password": ADMIN_PASSWORD})) == "admin"
    # an allowed name is not authorized by signing up: an admin still has to
    ada = auth.create_user("ada", other)
    assert ada is not None and ada.is_authorized is False
    assert resolve(auth.authenticate(None, {"username": "ada", "password": other})) is None
    # the admin's own password change is kept
    auth.change_password("admin", other)
    assert resolve(auth.authenticate(None, {"username": "admin", "password": other})) == "admin"
    assert resolve(auth.authenticate(None, {"username": "admin", "password": ADMIN_PASSWORD})) is None


def test_a_pending_sign_up_under_an_admin_name_is_no_admin(hub, settings, secrets):
    from nativeauthenticator.orm import UserInfo

    settings["culler"]["enabled"] = False
    app = hub(settings, secrets, initialize=True)
    auth = app.authenticator
    # made before admin names were reserved: an unauthorized account "admin" with a squatter's password
    squatter = "Squatter-Passw0rd-1"
    import bcrypt

    app.db.add(UserInfo(username="admin", password=bcrypt.hashpw(squatter.encode(), bcrypt.gensalt(rounds=4)), is_authorized=False))
    app.db.commit()
    assert resolve(auth.authenticate(None, {"username": "admin", "password": squatter})) is None
    assert resolve(auth.authenticate(None, {"username": "admin", "password": ADMIN_PASSWORD})) == "admin"


def _attempt(auth, name, password, ip):
    handler = type("Handler", (), {"request": type("Request", (), {"remote_ip": ip})()})()
    return resolve(auth.authenticate(handler, {"username": name, "password": password}))


def test_lockout_counts_per_address_survives_a_new_hub_and_expires(hub, settings, secrets, monkeypatch):
    import gmap_hub.auth as auth_module

    settings["auth"]["native"].update(allowedFailedLogins=3, secondsBeforeNextTry=86400 * 2)
    settings["culler"]["enabled"] = False
    app = hub(settings, secrets, initialize=True)
    auth = app.authenticator
    assert auth.login_attempts_file == str(app.config.GmapNativeAuthenticator.login_attempts_file)
    assert auth.login_attempts_file.endswith("/native-login-attempts.json")
    for _ in range(3):
        assert _attempt(auth, "admin", "wrong-password-1", "203.0.113.9") is None
    # locked for that address, even with the right password ...
    assert _attempt(auth, "admin", ADMIN_PASSWORD, "203.0.113.9") is None
    # ... but the stranger did not lock the admin out everywhere
    assert _attempt(auth, "admin", ADMIN_PASSWORD, "198.51.100.7") == "admin"
    # a replaced hub (a new authenticator on the same hub-data volume) still knows the lockout
    again = type(auth)(config=app.config, db=app.db)
    assert again.is_blocked("admin") is False  # no address in this context
    assert _attempt(again, "admin", ADMIN_PASSWORD, "203.0.113.9") is None
    # two days later (longer than a day: timedelta.seconds would never let it end) it is over
    real_time = auth_module.time.time
    monkeypatch.setattr(auth_module.time, "time", lambda: real_time() + 86400 * 2 + 1)
    assert _attempt(again, "admin", ADMIN_PASSWORD, "203.0.113.9") == "admin"
    # and one more wrong password after the expiry does not lock again at once
    monkeypatch.setattr(auth_module.time, "time", real_time)
    fresh = type(auth)(config=app.config, db=app.db)
    assert _attempt(fresh, "admin", "wrong-password-2", "203.0.113.9") is None
    assert _attempt(fresh, "admin", ADMIN_PASSWORD, "203.0.113.9") == "admin"


def test_single_native_authorize_and_discard_check_the_origin(hub, settings, secrets):
    from gmap_hub.same_origin import SameOriginDiscardHandler, SameOriginToggleAuthorizationHandler

    app = hub(settings, secrets)
    handlers = dict(native_authenticator(app).get_handlers(app))
    assert handlers[r"/authorize/([^/]*)"] is SameOriginToggleAuthorizationHandler
    assert handlers[r"/discard/([^/]*)"] is SameOriginDiscardHandler


def test_a_hub_user_stays_with_the_provider_that_signed_it_in_first(tmp_path):
    from gmap_hub.auth import GmapGitLabOAuthenticator, GmapNativeAuthenticator
    from gmap_hub.ownership import ProviderOwnership
    from oauthenticator.github import GitHubOAuthenticator

    seen = []
    hook = ProviderOwnership(str(tmp_path / "user-providers.json"), then=lambda a, h, auth: seen.append(auth["name"]) or auth)
    github, gitlab = GitHubOAuthenticator(), GmapGitLabOAuthenticator()
    native = GmapNativeAuthenticator(add_new_table=False)
    assert resolve(hook(github, None, {"name": "sam"})) == {"name": "sam"}
    # the stack switched providers: someone else called sam cannot take over sam's server and volume
    assert resolve(hook(native, None, {"name": "sam"})) is None
    assert resolve(hook(gitlab, None, {"name": "sam"})) is None
    assert resolve(hook(github, None, {"name": "sam"})) == {"name": "sam"}
    assert resolve(hook(native, None, {"name": "ada"})) == {"name": "ada"}
    # it remembers across hub restarts (a new hook on the same file)
    again = ProviderOwnership(str(tmp_path / "user-providers.json"))
    assert resolve(again(native, None, {"name": "sam"})) is None
    assert seen == ["sam", "sam", "ada"], "the operator's hook runs only for admitted logins"


def test_oidc_only(hub, settings, secrets):
    from gmap_hub.oidc import GmapOIDCAuthenticator, GroupsClaim

    settings["auth"].update(providers=["oidc"], admins=[])
    settings["auth"]["oidc"] = {
        "clientId": "gmap-hub",
        "callbackUrl": "http://localhost:8000/hub/oauth_callback",
        "allowedUsers": [],
        "admins": ["boss"],
        "allowAll": False,
        "issuer": "https://aai.example.org/realms/gmap",
        "displayName": "EGI Check-in",
        "scopes": ["openid", "profile", "email", "entitlements"],
        "usernameClaim": "preferred_username",
        "groupsClaim": "groups",
        "allowedGroups": ["gmap"],
        "allowedClaims": {"eduperson_entitlement": ["urn:gmap"]},
        "manageGroups": True,
    }
    secrets["oidcClientSecret"] = "oidc-secret"
    app = hub(settings, secrets)
    assert app.authenticator_class is GmapOIDCAuthenticator
    # the discovery happens at the first sign-in (tested against the fake provider in test_fake_oauth.py)
    auth = GmapOIDCAuthenticator(config=app.config)
    assert (auth.client_id, auth.client_secret, auth.issuer) == ("gmap-hub", "oidc-secret", "https://aai.example.org/realms/gmap")
    assert auth.scope == ["openid", "profile", "email", "entitlements"] and auth.userdata_from_id_token is True
    assert (auth.username_claim, auth.groups_claim, auth.allowed_claim_groups) == ("preferred_username", "groups", {"gmap"})
    assert auth.allowed_claims == {"eduperson_entitlement": ["urn:gmap"]}
    assert auth.manage_groups is True and isinstance(auth.auth_state_groups_key, GroupsClaim)
    assert auth.login_service == "EGI Check-in"
    assert auth.admin_users == {"boss"} and auth.allowed_users == {"boss"}
