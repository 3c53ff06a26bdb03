"""Native accounts beside GitHub and GitLab (MultiAuthenticator): NativeAuthenticator's templates
rewritten to the provider prefix, and the configuration of several providers (login facts, callback
URLs, checks). The live hub: test_multi_auth_live.py."""

import copy
import re

import pytest
from conftest import GITHUB, GITLAB, multi_settings
from gmap_hub.settings import SettingsError


# -- templates ----------------------------------------------------------------------------------
def test_every_native_template_is_rewritten_to_the_provider_prefix():
    from gmap_hub.native_pages import NATIVE_PAGES, NATIVE_TEMPLATES, scoped_template_source
    from nativeauthenticator.handlers import TEMPLATE_DIR

    assert {"native-login.html", "signup.html", "authorization-area.html", "page.html"} <= NATIVE_TEMPLATES
    unscoped = re.compile(r"\{\{\s*base_url\s*\}\}(%s)\b" % "|".join(NATIVE_PAGES))
    seen_links = 0
    for name in sorted(NATIVE_TEMPLATES):
        with open(f"{TEMPLATE_DIR}/{name}", encoding="utf-8") as f:
            original = f.read()
        seen_links += len(unscoped.findall(original))
        scoped = scoped_template_source(original)
        assert not unscoped.search(scoped), f"{name} still links to a page outside the provider prefix"
        assert "login_url" not in scoped.replace("native_login_url", ""), f"{name} still uses the hub's login_url"
        assert '{% extends "page.html" %}' not in scoped, f"{name} still extends the unscoped page.html"
    # NativeAuthenticator 1.3.0 has these links; if an upgrade drops them, look again at the rewrite
    assert seen_links >= 10


def test_single_native_provider_has_no_url_prefix(hub, settings, secrets):
    app = hub(settings, secrets)
    assert app.authenticator_class.__name__ == "GmapNativeAuthenticator"
    assert not hasattr(app.authenticator_class, "url_scope")


# -- configuration ------------------------------------------------------------------------------
def test_callback_urls_are_used_as_given(multi_hub):
    from oauthenticator.github import GitHubOAuthenticator
    from oauthenticator.gitlab import GitLabOAuthenticator

    # components/settings.ts derives them; the hub never rewrites them
    assert GitHubOAuthenticator(config=multi_hub.config).oauth_callback_url == "http://localhost:8000/hub/github/oauth_callback"
    assert GitLabOAuthenticator(config=multi_hub.config).oauth_callback_url == "http://localhost:8000/hub/gitlab/oauth_callback"


@pytest.mark.parametrize(
    "providers,url,ok",
    [
        (["native", "github"], "https://hub.example.org/hub/github/oauth_callback", True),
        (["native", "github"], "https://hub.example.org/jupyter/hub/github/oauth_callback", True),
        (["native", "github"], "https://hub.example.org/hub/oauth_callback", False),
        (["github"], "https://hub.example.org/hub/oauth_callback", True),
        (["github"], "https://hub.example.org/hub/github/oauth_callback", False),
    ],
)
def test_callback_url_must_reach_the_provider_handler(hub, settings, secrets, providers, url, ok):
    from gmap_hub.settings import SettingsError

    settings["auth"].update(providers=providers, admins=["admin"] if "native" in providers else [])
    settings["auth"]["github"] = dict(GITHUB, callbackUrl=url)
    secrets["githubClientSecret"] = "gh-secret"
    if ok:
        hub(settings, secrets)
    else:
        with pytest.raises(SettingsError, match=r"key auth\.github\.callbackUrl: the github callback handler is served at"):
            hub(settings, secrets)


def test_native_accounts_without_native_are_refused(hub, settings, secrets):
    from gmap_hub.settings import SettingsError

    settings["auth"].update(providers=["github"], admins=["admin"])
    settings["auth"]["github"] = copy.deepcopy(GITHUB)
    secrets["githubClientSecret"] = "gh-secret"
    with pytest.raises(SettingsError, match=r"key auth\.admins: lists native accounts"):
        hub(settings, secrets)


def test_base_urls_are_checked(hub, settings, secrets):
    from gmap_hub.settings import SettingsError

    settings["auth"].update(providers=["gitlab"], admins=[])
    settings["auth"]["gitlab"] = dict(GITLAB, url="https://git.example.org/?x=1")
    secrets["gitlabClientSecret"] = "gl-secret"
    with pytest.raises(SettingsError, match=r"key auth\.gitlab\.url: expected an http\(s\) base URL"):
        hub(settings, secrets)


def test_login_facts_come_from_settings(hub, settings, secrets):
    settings, secrets = multi_settings(settings, secrets)
    settings["auth"]["logins"]["github"] = {"service": "GitHub Enterprise", "urlPrefix": "/ghe", "userNamePrefix": "ghe:"}
    settings["auth"]["github"]["callbackUrl"] = "http://localhost:8000/hub/ghe/oauth_callback"
    multi = hub(settings, secrets, initialize=True).authenticator
    github = next(a for a in multi._authenticators if a.url_scope == "/ghe")
    assert (github.username_prefix, github.login_service) == ("ghe:", "GitHub Enterprise")
    assert "ghe:gh-admin" in multi.admin_users
    assert multi.validate_username("ghe:ada") and not multi.validate_username("github:ada")


@pytest.mark.parametrize(
    "key,value,problem",
    [
        ("userNamePrefix", "github:", "'github:' is also the userNamePrefix of another provider"),
        ("userNamePrefix", "", "must not be empty"),
        ("urlPrefix", "/github", "'/github' is also the urlPrefix"),
    ],
)
def test_several_providers_need_distinct_login_prefixes(hub, settings, secrets, key, value, problem):
    settings, secrets = multi_settings(settings, secrets)
    settings["auth"]["logins"]["gitlab"][key] = value
    with pytest.raises(SettingsError, match=rf"key auth\.logins\.gitlab\.{key}: {re.escape(problem)}"):
        hub(settings, secrets)


def test_the_registry_is_every_module_with_a_provider_native_first():
    from gmap_hub.configure import github, gitlab, native, oidc
    from gmap_hub.configure.providers import providers

    registry = providers()
    assert list(registry) == ["native", "github", "gitlab", "oidc"]
    assert [registry[name] for name in registry] == [native.PROVIDER, github.PROVIDER, gitlab.PROVIDER, oidc.PROVIDER]


def test_a_provider_the_hub_does_not_have_is_an_error_by_key(hub, settings, secrets):
    import pytest
    from gmap_hub.settings import SettingsError

    settings["auth"]["providers"] = ["orcid"]
    with pytest.raises(SettingsError, match=r"key auth\.providers"):
        hub(settings, secrets)
