"""GmapProxy: the hub checks the external proxy's routes every few seconds and puts back what a
restarted (empty) proxy lost; a proxy that does not answer is reported once, not every time."""

import asyncio
import logging

import pytest
from gmap_hub.proxy import GmapProxy
from jupyterhub.proxy import ConfigurableHTTPProxy


def test_the_hub_uses_it_with_the_interval_of_the_settings(hub, settings, secrets):
    settings["hub"]["proxyRouteCheckSeconds"] = 7
    app = hub(settings, secrets)
    assert app.proxy_class is GmapProxy
    assert app.config.GmapProxy.route_check_interval == 7
    assert app.config.ConfigurableHTTPProxy.should_start is False


class FakeApp:
    users = {"alice": object()}
    _service_map = {"idle-culler": object()}


@pytest.fixture
def proxy(monkeypatch):
    """A GmapProxy whose JupyterHub check is recorded (or fails while `down` is set)."""
    calls = []
    state = {"down": False}

    async def check_routes(self, user_dict, service_dict, routes=None):
        if state["down"]:
            raise ConnectionRefusedError("[Errno 111] Connection refused")
        calls.append((user_dict, service_dict, routes))

    monkeypatch.setattr(ConfigurableHTTPProxy, "check_routes", check_routes)
    p = GmapProxy(app=FakeApp(), route_check_interval=5, log=logging.getLogger("test-proxy"))
    yield p, calls, state
    p.stop()


def test_the_first_check_starts_the_periodic_one_once(proxy):
    p, calls, _ = proxy

    async def run():
        await p.check_routes({}, {})
        first = p._route_check
        await p.check_routes({}, {})
        return first

    first = asyncio.run(run())
    assert first is not None and first.callback_time == 5000
    assert p._route_check is first
    assert len(calls) == 2


def test_each_check_is_jupyterhubs_with_the_apps_users_and_services(proxy):
    p, calls, _ = proxy
    asyncio.run(p.check_routes_now())
    assert calls == [(FakeApp.users, FakeApp._service_map, None)]


def test_an_unreachable_proxy_is_reported_once_then_its_return(proxy, caplog):
    p, calls, state = proxy
    state["down"] = True
    with caplog.at_level(logging.INFO, logger="test-proxy"):
        for _ in range(3):
            asyncio.run(p.check_routes_now())
        state["down"] = False
        asyncio.run(p.check_routes_now())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "does not answer" in warnings[0].getMessage()
    assert any("answers again" in r.getMessage() for r in caplog.records)
    assert len(calls) == 1


def test_zero_never_checks(proxy, monkeypatch):
    p, _, _ = proxy
    p.route_check_interval = 0
    asyncio.run(p.check_routes({}, {}))
    assert p._route_check is None
