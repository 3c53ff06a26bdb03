"""The login lockout counts the address the stack's proxy saw (gmap_hub.client_address), never a
header the client chose, from outside (through the proxy) and from a user network (direct)."""

import asyncio
from types import SimpleNamespace

from conftest import ADMIN_PASSWORD
from gmap_hub.client_address import ProxyAddresses, client_address

PROXY = "172.18.0.3"
PROXY_ON_A_USER_NETWORK = "10.251.0.3"


def request(peer: str, **headers: str):
    return SimpleNamespace(connection=SimpleNamespace(context=SimpleNamespace(address=(peer, 40000))), headers=headers, remote_ip="6.6.6.6")


def proxies(lookups: list | None = None) -> ProxyAddresses:
    def lookup():
        if lookups is not None:
            lookups.append(1)
        return [PROXY, PROXY_ON_A_USER_NETWORK]

    found = ProxyAddresses(lookup)
    found.refresh()
    return found


def test_behind_the_proxy_the_last_forwarded_entry_counts_whatever_the_client_wrote():
    known = proxies()
    spoofed = request(PROXY, **{"X-Forwarded-For": "1.2.3.4, 203.0.113.9", "X-Real-Ip": "5.6.7.8"})
    assert client_address(spoofed, known) == "203.0.113.9"
    # the proxy's address on a user network is the proxy too (a user server through the proxy's port)
    assert client_address(request(PROXY_ON_A_USER_NETWORK, **{"X-Forwarded-For": "10.251.0.2"}), known) == "10.251.0.2"
    # a proxy request without a usable entry counts as the proxy itself
    assert client_address(request(PROXY, **{"X-Forwarded-For": "not-an-address"}), known) == PROXY


def test_a_request_that_did_not_come_through_the_proxy_is_its_own_peer():
    direct = request("10.251.0.18", **{"X-Forwarded-For": "203.0.113.77", "X-Real-Ip": "203.0.113.78"})
    assert client_address(direct, proxies()) == "10.251.0.18"


def test_the_proxy_is_looked_up_again_for_an_unknown_address_at_most_every_ttl():
    lookups: list = []
    known = proxies(lookups)
    assert len(lookups) == 1
    assert known.needs_lookup(PROXY) is False
    assert known.needs_lookup("10.251.0.18") is False  # looked up just now
    known._at -= 31
    assert known.needs_lookup("10.251.0.18") is True


def test_the_lockout_holds_against_spoofed_headers_from_outside_and_from_a_user_network(hub, settings, secrets):
    settings["auth"]["native"].update(allowedFailedLogins=3, secondsBeforeNextTry=600)
    settings["culler"]["enabled"] = False
    app = hub(settings, secrets, initialize=True)
    auth = app.authenticator
    auth._proxies = proxies()

    def attempt(password, peer, spoof):
        headers = {"X-Real-Ip": spoof, "X-Forwarded-For": f"{spoof}, 203.0.113.9" if peer == PROXY else spoof}
        handler = SimpleNamespace(request=request(peer, **headers))
        return asyncio.run(auth.authenticate(handler, {"username": "admin", "password": password}))

    # from outside: every guess names another address, the proxy's entry stays the client's
    for i in range(3):
        assert attempt("wrong-password", PROXY, f"198.51.100.{i}") is None
    assert attempt(ADMIN_PASSWORD, PROXY, "198.51.100.200") is None, "locked, whatever X-Real-Ip says"
    # from a user network, straight to the hub's port: the server's own address counts
    for i in range(3):
        assert attempt("wrong-password", "10.251.0.18", f"192.0.2.{i}") is None
    assert attempt(ADMIN_PASSWORD, "10.251.0.18", "192.0.2.200") is None
    # another client is not locked out
    assert attempt(ADMIN_PASSWORD, "10.251.0.34", "192.0.2.201") == "admin"


def test_the_attempts_store_keeps_live_entries_only_and_at_most_its_bound(hub, settings, secrets, monkeypatch):
    import gmap_hub.auth as auth_module

    settings["auth"]["native"].update(allowedFailedLogins=3, secondsBeforeNextTry=60)
    settings["culler"]["enabled"] = False
    app = hub(settings, secrets, initialize=True)
    auth = app.authenticator
    now = auth_module.time.time()
    auth.login_attempts = {"old 1.1.1.1": {"count": 2, "time": now - 61}, "new 2.2.2.2": {"count": 1, "time": now}}
    auth._save_attempts()
    assert list(auth.login_attempts) == ["new 2.2.2.2"]
    monkeypatch.setattr(auth_module, "MAX_ATTEMPT_ENTRIES", 2)
    auth.login_attempts.update({f"a {i}": {"count": 1, "time": now + i} for i in range(5)})
    auth._save_attempts()
    assert list(auth.login_attempts) == ["a 3", "a 4"]


def test_password_checks_leave_the_event_loop_free(hub, settings, secrets):
    import bcrypt
    from nativeauthenticator.orm import UserInfo

    settings["culler"]["enabled"] = False
    app = hub(settings, secrets, initialize=True)
    auth = app.authenticator
    password = "a-password-of-ada-1"
    app.db.add(UserInfo(username="ada", password=bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=13)), is_authorized=True))
    app.db.commit()

    async def login_while_ticking(attempt: str):
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        try:
            result = await auth.authenticate(SimpleNamespace(request=request("10.251.0.50")), {"username": "ada", "password": attempt})
        finally:
            task.cancel()
        return result, ticks

    # a cost-13 hash takes about half a second: the loop keeps ticking meanwhile
    assert asyncio.run(login_while_ticking(password))[0] == "ada"
    result, ticks = asyncio.run(login_while_ticking("wrong-password"))
    assert result is None
    assert ticks >= 10, f"the event loop ticked {ticks} times during a password check"
    # the verdict was handed to this login only
    assert "is_valid_password" not in vars(auth.get_user("ada"))
