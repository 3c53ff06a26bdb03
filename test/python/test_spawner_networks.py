"""GmapDockerSpawner's network isolation: one network per user server, shared only with the hub and
the proxy; created before the container, kept connected while it runs, removed after it stops."""

import asyncio
import ipaddress

import pytest
from docker.errors import APIError
from spawner_fakes import ESCAPED, NETWORK, NETWORK_CALLS, NETWORK_LABELS, FakeNetworks, _api_error, _not_found
from tornado import web

CONTAINER = f"gmap-dev-user-{ESCAPED}"


class Engine:
    """The container calls of DockerSpawner (start, poll, stop) plus FakeNetworks; ``container``
    is None (gone), "running" or "exited"; ``stays`` keeps the container after a stop for that many
    looks (Docker's AutoRemove is asynchronous)."""

    def __init__(self, networks=None, container=None, stays=0):
        self.net = FakeNetworks(networks)
        self.container, self.stays, self.calls = container, stays, []

    async def __call__(self, method, *args, **kwargs):
        self.calls.append(method)
        if method in NETWORK_CALLS:
            return await self.net(method, *args, **kwargs)
        if method == "inspect_image":
            return {"Config": {"Cmd": ["start-notebook.py"]}}
        if method == "create_container":
            if "entrypoint" in kwargs:
                return {"Id": "he1per"}
            # the network exists before the container is created (hub and proxy join it meanwhile)
            assert kwargs["host_config"]["NetworkMode"] in self.net.networks
            self.container = "created"
            self.created_with = kwargs
            return {"Id": "c0ffee"}
        if method == "start" and args == ("c0ffee",):
            self.container = "running"
            self.net.networks[NETWORK]["members"][CONTAINER] = None
            return None
        if method in ("start", "wait", "remove_container"):
            return {"StatusCode": 0} if method == "wait" else None
        if method == "stop":
            self.container = "exited"
            return None
        if method == "inspect_container":
            if self.container == "exited" and self.stays <= 0:
                self.container = None
                self.net.networks.get(NETWORK, {"members": {}})["members"].pop(CONTAINER, None)
            self.stays -= 1
            if self.container is None:
                raise _not_found("container")
            running = self.container == "running"
            state = {"Running": running, "ExitCode": 0, "Error": "", "FinishedAt": "x"}
            return {"Id": "c0ffee", "State": state, "NetworkSettings": {"Networks": {NETWORK: {"IPAddress": "10.9.0.2"}}}}
        raise AssertionError(f"unexpected docker call {method}")


@pytest.fixture
def spawner(hub, settings, secrets, make_spawner, monkeypatch):
    import docker

    def make(engine, user="Ada.Lovelace@x"):
        s = make_spawner(hub(settings, secrets), user)
        s.api_token = "t" * 32
        s.network_removal_poll_interval = 0.01
        monkeypatch.setattr(type(s), "_client", docker.APIClient(base_url="unix:///nonexistent.sock", version="1.43"))
        s.docker = engine
        return s

    return make


def ours(members=None, labels=NETWORK_LABELS):
    return {NETWORK: {"Id": "net-ada", "Labels": dict(labels), "members": dict(members or {})}}


def test_each_user_gets_a_network_of_its_own(spawner):
    ada, bob = spawner(Engine()), spawner(Engine(), "bob")
    assert (ada.network_name, bob.network_name) == (NETWORK, "gmap-dev-u-bob")


def test_start_creates_the_network_before_the_container_and_returns_with_hub_and_proxy_on_it(spawner):
    engine = Engine()
    s = spawner(engine)
    assert asyncio.run(s.start()) == ("10.9.0.2", 8888)
    create = [c for c in engine.net.calls if c[0] == "create_network"]
    assert [(c[1], c[2]["driver"], c[2]["labels"]) for c in create] == [((NETWORK,), "bridge", NETWORK_LABELS)]
    subnet = ipaddress.ip_network(create[0][2]["ipam"]["Config"][0]["Subnet"])
    assert subnet.prefixlen == 28 and subnet.subnet_of(ipaddress.ip_network("10.251.0.0/16")), "a /28 of spawner.networkPool"
    members = engine.net.networks[NETWORK]["members"]
    # the hub under its alias (JUPYTERHUB_API_URL), the proxy without one (it routes by address)
    assert members == {"gmap-dev-hub": ["hub"], "gmap-dev-proxy": None, CONTAINER: None}
    host = engine.created_with["host_config"]
    assert host["NetworkMode"] == NETWORK  # the server joins its own network only
    assert engine.calls.index("create_network") < engine.calls.index("create_container")


def test_an_existing_network_of_the_hub_is_reused_and_completed(spawner):
    engine = Engine(ours({"gmap-dev-proxy": None}))
    asyncio.run(spawner(engine).start())
    assert "create_network" not in engine.calls
    connects = [c[1][0] for c in engine.net.calls if c[0] == "connect_container_to_network"]
    assert connects == ["gmap-dev-hub"]


@pytest.mark.parametrize("labels", [{}, {**NETWORK_LABELS, "org.europlanet-gmap.jupyterhub.stack": "other"}])
def test_a_network_of_that_name_not_made_by_the_hub_is_refused(spawner, labels):
    engine = Engine(ours(labels=labels))
    with pytest.raises(web.HTTPError) as e:
        asyncio.run(spawner(engine).start())
    assert "was not made by this hub" in e.value.log_message % e.value.args
    assert "create_container" not in engine.calls
    assert "connect_container_to_network" not in engine.calls


def test_poll_reconnects_a_replaced_hub_and_proxy(spawner):
    # a new hub container starts on the main network only; the proxy was replaced too
    engine = Engine(ours({CONTAINER: None}), container="running")
    s = spawner(engine)
    assert asyncio.run(s.poll()) is None
    assert engine.net.networks[NETWORK]["members"] == {CONTAINER: None, "gmap-dev-hub": ["hub"], "gmap-dev-proxy": None}
    engine.net.calls.clear()
    assert asyncio.run(s.poll()) is None
    assert [c[0] for c in engine.net.calls] == ["inspect_network"], "nothing to do when both are there"


def test_poll_of_a_running_server_never_fails_on_its_network(spawner):
    # a server started before isolation (no network of its own) keeps running
    engine = Engine({}, container="running")
    assert asyncio.run(spawner(engine).poll()) is None

    class Broken(Engine):
        async def __call__(self, method, *args, **kwargs):
            if method == "connect_container_to_network":
                raise _api_error(500, "daemon trouble")
            return await super().__call__(method, *args, **kwargs)

    assert asyncio.run(spawner(Broken(ours(), container="running")).poll()) is None


def test_poll_of_a_stopped_server_leaves_networks_alone(spawner):
    engine = Engine(ours(), container=None)
    assert asyncio.run(spawner(engine).poll()) == 0
    assert not engine.net.calls


def test_a_running_server_is_found_at_its_address_on_its_network(spawner):
    # at the hub's start a spawn the earlier hub did not finish has the placeholder address it began with
    from jupyterhub.objects import Server

    s = spawner(Engine(ours(), container="running"))
    s.server = Server(ip="26e6108df025", port=55865, base_url="/user/ada/")
    assert asyncio.run(s.get_url()) == f"http://10.9.0.2:{s.port}/user/ada/"
    # when the engine cannot say, the recorded address stands: the hub's start goes on
    gone = spawner(Engine(ours(), container=None))
    gone.server = Server(ip="26e6108df025", port=55865, base_url="/user/ada/")
    assert asyncio.run(gone.get_url()) == "http://26e6108df025:55865/user/ada/"


class Interrupted(Engine):
    """An engine after a hub crash: a spawn left its network (hub and proxy on it) and perhaps a
    container it never started; removing the container takes it away at once."""

    async def __call__(self, method, *args, **kwargs):
        if method == "remove_container":
            self.calls.append(method)
            assert args == ("c0ffee",)
            self.container = None
            return None
        return await super().__call__(method, *args, **kwargs)


@pytest.mark.parametrize("container", [None, "created"])
def test_at_the_hubs_start_a_server_found_not_running_leaves_nothing_behind(spawner, container):
    # JupyterHub forgets such a server without stopping it: the check's poll clears what is left
    engine = Interrupted(ours({"gmap-dev-hub": ["hub"], "gmap-dev-proxy": None}), container=container)
    s = spawner(engine)
    s._check_pending = True
    assert asyncio.run(s.poll()) is not None
    assert engine.net.networks == {} and engine.container is None
    assert ("remove_container" in engine.calls) == (container == "created")
    assert s.object_id == ""


def test_stop_removes_the_network_once_the_container_is_gone(spawner):
    engine = Engine(ours({"gmap-dev-hub": ["hub"], "gmap-dev-proxy": None, CONTAINER: None}), container="running", stays=3)
    s = spawner(engine)
    s.object_id = "c0ffee"
    asyncio.run(s.stop())
    assert engine.net.networks == {}
    disconnected = sorted(c[1][0] for c in engine.net.calls if c[0] == "disconnect_container_from_network")
    assert disconnected == ["gmap-dev-hub", "gmap-dev-proxy"]
    assert engine.calls.count("inspect_container") == 4  # waited for the asynchronous removal


def test_stop_tolerates_a_missing_network(spawner):
    engine = Engine({}, container="running")
    s = spawner(engine)
    s.object_id = "c0ffee"
    asyncio.run(s.stop())
    assert [c[0] for c in engine.net.calls] == ["inspect_network"]


def test_stop_leaves_the_network_while_the_container_stays(spawner):
    engine = Engine(ours({"gmap-dev-hub": ["hub"], CONTAINER: None}), container="running", stays=10**6)
    s = spawner(engine)
    s.object_id = "c0ffee"
    s.network_removal_timeout = 0
    asyncio.run(s.stop())
    assert NETWORK in engine.net.networks and not engine.net.calls


def test_stop_never_removes_a_network_not_made_by_the_hub(spawner):
    engine = Engine(ours({"gmap-dev-hub": ["hub"]}, labels={}), container="running")
    s = spawner(engine)
    s.object_id = "c0ffee"
    asyncio.run(s.stop())
    assert NETWORK in engine.net.networks
    assert [c[0] for c in engine.net.calls] == ["inspect_network"]


def test_the_network_template_must_name_the_user(hub, settings, secrets):
    from gmap_hub.settings import SettingsError

    settings["spawner"]["networkTemplate"] = "gmap-dev-users"
    # refused by the settings contract (components/contract.ts) before config.py checks it too
    with pytest.raises(SettingsError, match=r"key spawner\.networkTemplate: 'gmap-dev-users' does not match"):
        hub(settings, secrets)


def test_hub_and_proxy_container_names_are_required(hub, settings, secrets):
    from gmap_hub.settings import SettingsError

    del settings["hub"]["proxyContainer"]
    with pytest.raises(SettingsError, match=r"key hub\.proxyContainer: missing"):
        hub(settings, secrets)


def _created_subnet(engine):
    return [c[2]["ipam"]["Config"][0]["Subnet"] for c in engine.net.calls if c[0] == "create_network"]


def test_subnets_come_from_the_pool_skipping_used_and_taken_ones(spawner):
    probe = Engine()
    asyncio.run(spawner(probe).start())
    first = _created_subnet(probe)[0]
    # the same user's first candidate is held by another user's network of the stack
    other = {"gmap-dev-u-bob": {"Id": "net-bob", "Labels": dict(NETWORK_LABELS), "members": {}, "Subnet": first}}
    engine = Engine(other)
    asyncio.run(spawner(engine).start())
    assert _created_subnet(engine)[-1] != first, "a subnet of an existing user network is skipped"
    # a subnet some other network of the host holds is refused by Docker: the next one is tried
    taken = Engine()
    taken.net.taken.add(first)
    asyncio.run(spawner(taken).start())
    tried = _created_subnet(taken)
    assert tried[0] == first and len(tried) == 2 and tried[1] != first


def test_no_free_subnet_fails_the_spawn_with_what_to_do(spawner):
    engine = Engine()
    engine.net.taken.update(str(s) for s in ipaddress.ip_network("10.251.0.0/16").subnets(new_prefix=28))
    s = spawner(engine)
    s.network_subnet_tries = 5
    with pytest.raises(web.HTTPError) as e:
        asyncio.run(s.start())
    assert "widen spawner.networkPool" in e.value.log_message % e.value.args
    assert len(_created_subnet(engine)) == 5, "bounded"
    assert "create_container" not in engine.calls


class HubRefused(FakeNetworks):
    async def __call__(self, method, *args, **kwargs):
        if method == "connect_container_to_network" and args[0] == "gmap-dev-hub":
            raise _api_error(500, "could not attach the endpoint")
        return await super().__call__(method, *args, **kwargs)


def test_a_hub_that_cannot_join_the_network_fails_the_spawn(spawner):
    engine = Engine()
    engine.net = HubRefused()
    with pytest.raises(APIError, match="could not attach"):
        asyncio.run(spawner(engine).start())


def test_the_subnet_size_comes_from_the_settings(hub, settings, secrets, make_spawner):
    settings["spawner"]["networkPrefixLength"] = 24
    assert make_spawner(hub(settings, secrets)).network_prefix_length == 24


def test_subnets_have_the_configured_prefix_length(spawner):
    engine = Engine()
    s = spawner(engine)
    s.network_prefix_length = 26
    asyncio.run(s.start())
    subnet = ipaddress.ip_network(_created_subnet(engine)[0])
    assert subnet.prefixlen == 26 and subnet.subnet_of(ipaddress.ip_network("10.251.0.0/16"))


def test_a_pool_without_prefix_length_fails_the_spawn_clearly(spawner):
    engine = Engine()
    s = spawner(engine)
    s.network_prefix_length = 0
    with pytest.raises(web.HTTPError) as e:
        asyncio.run(s.start())
    assert "network_prefix_length is not set" in e.value.log_message % e.value.args
    assert "create_network" not in engine.calls and "create_container" not in engine.calls
