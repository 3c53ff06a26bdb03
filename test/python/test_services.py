"""API services with their tokens and roles; the idle culler."""

import sys

import pytest
from jupyterhub_idle_culler import IdleCuller


def services_by_name(app):
    return {s["name"]: s for s in app.services}


def roles_by_name(app):
    return {r["name"]: r for r in app.load_roles}


def test_services_get_tokens_and_roles(hub, settings, secrets):
    settings["services"].append({"name": "monitoring", "scopes": ["read:metrics"]})
    secrets["serviceTokens"]["monitoring"] = "monitoring-token-0123456789"
    app = hub(settings, secrets)
    services = services_by_name(app)
    assert services["e2e"] == {"name": "e2e", "api_token": "e2e-token-0123456789"}
    assert services["monitoring"] == {"name": "monitoring", "api_token": "monitoring-token-0123456789"}
    roles = roles_by_name(app)
    assert roles["service-e2e"]["scopes"] == ["admin:users", "admin:servers", "access:servers"]
    assert roles["service-e2e"]["services"] == ["e2e"]
    assert roles["service-monitoring"]["scopes"] == ["read:metrics"]
    assert roles["service-monitoring"]["services"] == ["monitoring"]


def test_culler_service(hub, settings, secrets):
    settings["culler"].update(timeout=7200, every=120, maxAge=86400)
    app = hub(settings, secrets)
    culler = services_by_name(app)["idle-culler"]
    assert culler["api_token"] == "culler-token-0123456789"
    command = culler["command"]
    assert command[:3] == [sys.executable, "-m", "jupyterhub_idle_culler"]
    # the flags mean what we think to jupyterhub-idle-culler 2.0
    culler_app = IdleCuller()
    culler_app.parse_command_line(command[3:])
    assert (culler_app.timeout, culler_app.cull_every, culler_app.max_age) == (7200, 120, 86400)
    assert culler_app.cull_users is False
    role = roles_by_name(app)["service-idle-culler"]
    assert sorted(role["scopes"]) == ["delete:servers", "list:users", "read:servers", "read:users:activity"]
    assert role["services"] == ["idle-culler"]


def test_culler_name_and_scopes_come_from_settings(hub, settings, secrets):
    from gmap_hub.settings import SettingsError

    settings["culler"].update(service="culler", scopes=["list:users", "delete:servers"])
    app = hub(settings, secrets)
    assert services_by_name(app)["culler"]["api_token"] == "culler-token-0123456789"
    role = roles_by_name(app)["service-culler"]
    assert (role["scopes"], role["services"]) == (["list:users", "delete:servers"], ["culler"])
    # the culler's name is reserved
    settings["services"].append({"name": "culler", "scopes": ["read:metrics"]})
    with pytest.raises(SettingsError, match=r"key services\[1\]\.name: 'culler' is reserved for the idle culler"):
        hub(settings, secrets)


def test_culler_disabled_and_no_services(hub, settings, secrets):
    settings["culler"]["enabled"] = False
    settings["services"] = []
    secrets["serviceTokens"] = {}
    app = hub(settings, secrets)
    assert app.services == []
    assert app.load_roles == []
