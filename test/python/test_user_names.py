"""User names: DockerSpawner's escape matches the program's (shared vectors), and the hub applies
one name rule to every provider, with the provider prefix when there are several."""

import json

from conftest import ROOT

VECTORS = json.loads((ROOT / "test" / "fixtures" / "user-names.json").read_text())["names"]


def test_dockerspawner_escapes_like_the_program():
    from dockerspawner import DockerSpawner

    for v in VECTORS:
        assert DockerSpawner._escape(v["name"]) == v["escaped"], v["name"]


def test_one_provider_refuses_every_name_outside_the_rule(hub, settings, secrets):
    auth = hub(settings, secrets, initialize=True).authenticator
    for v in VECTORS:
        assert auth.validate_username(v["name"]) is v["accepted"], v["name"]
    assert auth.validate_username("a" * 48) and not auth.validate_username("a" * 49)


def test_several_providers_need_their_prefix(hub, settings, secrets):
    from conftest import GITHUB

    settings["auth"].update(providers=["native", "github"])
    settings["auth"]["github"] = dict(GITHUB, callbackUrl="http://localhost:8000/hub/github/oauth_callback")
    secrets["githubClientSecret"] = "gh-secret"
    settings["culler"]["enabled"] = False
    app = hub(settings, secrets, initialize=True)
    multi = app.authenticator
    assert multi.validate_username("github:ada") and multi.validate_username("native:ada")
    assert not multi.validate_username("ada") and not multi.validate_username("gitlab:ada")
    assert not multi.validate_username("github:Ada") and not multi.validate_username("github:a/b")
    native = next(a for a in multi._authenticators if a.url_scope == "/native")
    # native accounts carry the bare name; the rule is checked on the hub name
    assert native.validate_username("ada") and not native.validate_username("a b")
    assert native.create_user("ada", "Correct-Horse-Battery-9") is not None
