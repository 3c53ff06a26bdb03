"""At the hub's start: the user containers and networks no server owns, made before the hub started
(a spawn an earlier hub's crash interrupted), are removed; owned ones and newer ones stay."""

import asyncio
from types import SimpleNamespace

import pytest
from gmap_hub import leftovers
from gmap_hub.app import GmapHub
from gmap_hub.leftovers import _created, remove_leftovers

LABELS = {"org.europlanet-gmap.jupyterhub.component": "user", "org.europlanet-gmap.jupyterhub.prefix": "gmap"}
NET_LABELS = {"org.europlanet-gmap.jupyterhub.component": "user-network", "org.europlanet-gmap.jupyterhub.prefix": "gmap"}
BEFORE = 1_800_000_000.0


class FakeClient:
    """Containers and networks by name with their creation times; records removals and disconnections."""

    def __init__(self, containers, networks, attached=("gmap-hub", "gmap-proxy")):
        self._containers = containers
        self._networks = networks
        self.attached = list(attached)
        self.calls = []

    def containers(self, all, filters):
        assert all is True and filters == {"label": sorted(f"{k}={v}" for k, v in LABELS.items())}
        return [{"Id": f"id-{n}", "Names": [f"/{n}"], "Created": t} for n, t in self._containers.items()]

    def networks(self, filters):
        assert filters == {"label": sorted(f"{k}={v}" for k, v in NET_LABELS.items())}
        return [{"Id": f"id-{n}", "Name": n, "Created": t} for n, t in self._networks.items()]

    def remove_container(self, cid, force):
        assert force is True
        self.calls.append(("remove_container", cid))

    def inspect_network(self, nid):
        return {"Id": nid, "Containers": {f"ep-{name}": {"Name": name} for name in self.attached}}

    def disconnect_container_from_network(self, member, nid, force):
        assert force is True
        self.calls.append(("disconnect", member, nid))

    def remove_network(self, nid):
        self.calls.append(("remove_network", nid))


def sweep(client, owned=()):
    return remove_leftovers(
        client,
        container_labels=LABELS,
        network_labels=NET_LABELS,
        owned_containers={f"gmap-user-{o}" for o in owned},
        owned_networks={f"gmap-u-{o}" for o in owned},
        before=BEFORE,
    )


def test_removes_what_no_server_owns_and_keeps_owned_and_newer_objects():
    client = FakeClient(
        containers={"gmap-user-ada": BEFORE - 60, "gmap-user-bob": BEFORE - 60, "gmap-user-new": BEFORE + 1},
        networks={"gmap-u-ada": "2027-01-15T07:00:00.123456789Z", "gmap-u-cyd": "2027-01-15T07:59:00Z", "gmap-u-new": "2030-01-01T00:00:00Z"},
    )
    removed = sweep(client, owned=["ada"])
    assert removed == ["container gmap-user-bob", "network gmap-u-cyd"]
    assert client.calls == [
        ("remove_container", "id-gmap-user-bob"),
        ("disconnect", "gmap-hub", "id-gmap-u-cyd"),
        ("disconnect", "gmap-proxy", "id-gmap-u-cyd"),
        ("remove_network", "id-gmap-u-cyd"),
    ]


def test_docker_times_in_seconds_and_rfc3339_with_nanoseconds():
    # BEFORE is 2027-01-15T08:00:00Z
    assert _created("2027-01-15T08:00:00.123456789Z") == pytest.approx(BEFORE + 0.123456)
    assert _created("2027-01-15T09:00:00+01:00") == BEFORE
    assert _created(BEFORE - 5) == BEFORE - 5


def test_a_network_the_hub_or_proxy_left_already_is_removed_too():
    client = FakeClient(containers={}, networks={"gmap-u-cyd": "2027-01-15T07:59:00Z"}, attached=())
    assert sweep(client) == ["network gmap-u-cyd"]
    assert client.calls == [("remove_network", "id-gmap-u-cyd")]


def test_gmaphub_sweeps_after_init_spawners(monkeypatch):
    order = []

    async def init_spawners(self):
        order.append("init_spawners")
        return 3

    async def sweep_after(app, before):
        order.append(("sweep", before))

    monkeypatch.setattr("jupyterhub.app.JupyterHub.init_spawners", init_spawners)
    monkeypatch.setattr("gmap_hub.app.remove_hub_leftovers", sweep_after)
    hub = GmapHub()
    assert asyncio.run(hub.init_spawners()) == 3
    assert order[0] == "init_spawners" and order[1][0] == "sweep"


def test_swarm_mode_is_left_alone(monkeypatch):
    from gmap_hub.spawner.swarm import GmapSwarmSpawner

    def fail(*a, **k):
        raise AssertionError("no Docker call in swarm mode")

    monkeypatch.setattr(leftovers.docker, "APIClient", fail)
    app = SimpleNamespace(spawner_class=GmapSwarmSpawner, users={}, config=None)
    asyncio.run(leftovers.remove_hub_leftovers(app, BEFORE))
