"""The exporter of per-user measurements (gmap_hub.monitoring.exporter): its metrics from a fake hub
(a real HTTP server speaking the hub's paginated REST API, with its state filter) and a fake Docker
engine; servers found by the spawner's names, stopped, starting and vanished ones left out; groups
and homes from the listing of all users, taken on the homes' interval only; the stack's containers,
the host; errors of the hub and the engine counted, logged once and never fatal; the homes measured
on their own interval, the engine asked for the volumes only where it can be; the token file from
the settings; SIGTERM ends the process."""

import copy
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import HUB_CONFIG
from docker.utils import version_gte
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from spawner_fakes import ESCAPED, ISIS, MINIMAL

GiB = 2**30
TOKEN = "exporter-token-0123456789"
PREFIX = "org.europlanet-gmap.jupyterhub.prefix"
COMPONENT = "org.europlanet-gmap.jupyterhub.component"
ADA = "Ada.Lovelace@x"

# -- a fake hub ---------------------------------------------------------------------------------

#: The hub's users: Ada runs her default server and the named one "gis"; Bob his default server (his
#: named server "old" is stopped, so the hub does not list it); Carol's server is still starting; Dan
#: has none.
USERS = [
    {
        "kind": "user",
        "name": ADA,
        "groups": ["planetary", "staff"],
        "servers": {"": {"name": "", "ready": True, "pending": None}, "gis": {"name": "gis", "ready": True, "pending": None}},
    },
    {"kind": "user", "name": "bob", "groups": ["planetary"], "servers": {"": {"name": "", "ready": True, "pending": None}}},
    {"kind": "user", "name": "carol", "groups": [], "servers": {"": {"name": "", "ready": False, "pending": "spawn"}}},
    {"kind": "user", "name": "dan", "groups": ["staff"], "servers": {}},
]


def ready(user):
    return any(s["ready"] for s in user["servers"].values())


class FakeHub:
    """GET <base>hub/api/users as JupyterHub 5 answers it with pagination, ``page_size`` users a page
    whatever the limit asked; with ``state=ready`` as JupyterHub filters: the pages are those of the
    users with a server that runs or starts, each page keeping those with a ready one. 403 without
    the exporter's token. Records each request (path, query, headers); ``after_page(query)``, when
    set, runs after each page (the list moving meanwhile)."""

    page_size = 2

    def __init__(self, users):
        self.users = users
        self.requests = []
        self.after_page = None
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                hub.requests.append((url.path, query, dict(self.headers)))
                if self.headers.get("Authorization") != f"token {TOKEN}":
                    return self.answer(403, {"status": 403, "message": "Action is not authorized with current scopes"})
                if url.path != "/jupyter/hub/api/users":
                    return self.answer(404, {"status": 404, "message": "Not Found"})
                offset = int(query.get("offset", 0))
                state = query.get("state")
                if state not in (None, "ready"):
                    return self.answer(400, {"status": 400, "message": f"Unrecognized state filter: {state!r}"})
                listed = [u for u in hub.users if u["servers"]] if state == "ready" else hub.users
                items = [u for u in listed[offset : offset + hub.page_size] if state != "ready" or ready(u)]
                end = offset + hub.page_size
                following = {"offset": end, "limit": hub.page_size, "url": "..."} if end < len(listed) else None
                self.answer(200, {"items": items, "_pagination": {"offset": offset, "limit": hub.page_size, "total": len(listed), "next": following}})
                if hub.after_page is not None:
                    hub.after_page(query)

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture
def fake_hub():
    hub = FakeHub(copy.deepcopy(USERS))
    yield hub
    hub.server.shutdown()
    hub.server.server_close()


def closed_port():
    """A port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a fake Docker engine -----------------------------------------------------------------------

USER_LABELS = {PREFIX: "gmap-dev", COMPONENT: "user", "org.europlanet-gmap.jupyterhub.stack": "dev"}


def stack(component, prefix="gmap-dev"):
    return {PREFIX: prefix, COMPONENT: component, "org.europlanet-gmap.jupyterhub.stack": "dev"}


def cgroup2(usage, inactive_file, cpu_ns, networks):
    return {
        "memory_stats": {"usage": usage, "stats": {"inactive_file": inactive_file}, "limit": 64 * GiB},
        "cpu_stats": {"cpu_usage": {"total_usage": cpu_ns}},
        "networks": {name: {"rx_bytes": rx, "tx_bytes": tx} for name, (rx, tx) in networks.items()},
    }


#: id -> (name, labels, image in the list, (image, memory limit) as inspected, stats)
CONTAINERS = {
    "c-ada": (
        f"gmap-dev-user-{ESCAPED}",
        USER_LABELS,
        "sha256:0ld",
        (ISIS, 2 * GiB),
        cgroup2(300 * 2**20, 100 * 2**20, 12_500_000_000, {"eth0": (1000, 2000), "eth1": (24, 6)}),
    ),
    "c-ada-gis": (
        f"gmap-dev-user-{ESCAPED}--gis",
        USER_LABELS,
        MINIMAL,
        (MINIMAL, 0),
        # cgroup v1: the page cache is total_inactive_file
        {
            "memory_stats": {"usage": 50_000_000, "stats": {"total_inactive_file": 10_000_000, "inactive_file": 5}},
            "cpu_stats": {"cpu_usage": {"total_usage": 1_000_000_000}},
            "networks": {"eth0": {"rx_bytes": 10, "tx_bytes": 20}},
        },
    ),
    # the page cache counted above the usage: the usage stands
    "c-bob": ("gmap-dev-user-bob", USER_LABELS, MINIMAL, (MINIMAL, GiB), cgroup2(1000, 2000, 500_000_000, {"eth0": (5, 6)})),
    # stopped for the hub (a container left running), starting: neither is measured
    "c-bob-old": ("gmap-dev-user-bob--old", USER_LABELS, MINIMAL, (MINIMAL, 0), cgroup2(1, 0, 1, {})),
    "c-carol": ("gmap-dev-user-carol", USER_LABELS, MINIMAL, (MINIMAL, 0), cgroup2(1, 0, 1, {})),
    "c-hub": ("gmap-dev-hub", stack("hub"), "gmap-dev-hub:local", None, cgroup2(200_000_000, 0, 1, {"eth0": (1, 1)})),
    "c-proxy": ("gmap-dev-proxy", stack("proxy"), "chp", None, cgroup2(50_000_000, 1_000_000, 1, {"eth0": (1, 1)})),
    "c-prometheus": ("gmap-dev-prometheus", stack("prometheus"), "prom", None, cgroup2(300_000_000, 0, 1, {"eth0": (1, 1)})),
    "c-exporter": ("gmap-dev-exporter", stack("exporter"), "gmap-dev-hub:local", None, cgroup2(40_000_000, 0, 1, {"eth0": (1, 1)})),
    # another stack's hub, and a container of no stack
    "c-other-hub": ("other-hub", stack("hub", prefix="other"), "x", None, cgroup2(1, 0, 1, {})),
    "c-unrelated": ("web", {}, "nginx", None, cgroup2(1, 0, 1, {})),
}

#: The engine's volumes (``docker system df``): the homes of Ada, Bob and Dan; Carol's on a driver the
#: engine does not measure; the shared ISIS data (no home).
VOLUMES = [
    {"Name": f"gmap-dev-user-{ESCAPED}", "UsageData": {"Size": 123_456_789, "RefCount": 1}},
    {"Name": "gmap-dev-user-bob", "UsageData": {"Size": 42, "RefCount": 1}},
    {"Name": "gmap-dev-user-dan", "UsageData": {"Size": 7, "RefCount": 0}},
    {"Name": "gmap-dev-user-carol", "UsageData": {"Size": -1, "RefCount": 1}},
    {"Name": "gmap-dev-isis", "UsageData": {"Size": 999, "RefCount": 2}},
]


class FakeDocker:
    """The Docker API client calls of the exporter on CONTAINERS and VOLUMES, of an engine of API
    ``api_version``; records them (the disk usage as ("df", its parameters))."""

    def __init__(self, containers=CONTAINERS, volumes=VOLUMES, api_version="1.45"):
        self.containers_, self.volumes = containers, volumes
        self.api_version = api_version
        self.calls = []

    def containers(self):
        self.calls.append(("containers",))
        return [{"Id": cid, "Names": [f"/{name}"], "Labels": dict(labels), "Image": image} for cid, (name, labels, image, _, _) in self.containers_.items()]

    def inspect_container(self, cid):
        self.calls.append(("inspect_container", cid))
        image, memory = self.containers_[cid][3]
        return {"Id": cid, "Config": {"Image": image}, "HostConfig": {"Memory": memory}}

    def stats(self, cid, stream=True, one_shot=None):
        self.calls.append(("stats", cid, stream, one_shot))
        return copy.deepcopy(self.containers_[cid][4])

    def df(self):
        """docker-py's df(): GET /system/df, everything measured."""
        self.calls.append(("df", None))
        return {"LayersSize": 10 * GiB, "Images": [], "Containers": [], "Volumes": copy.deepcopy(self.volumes), "BuildCache": []}

    # docker-py's low-level request, for /system/df with parameters, answered as the engine does:
    # the types asked for only (API >= 1.42); from API 1.52 with verbose, without the legacy fields
    def _url(self, path):
        return f"http+docker://localhost/v{self.api_version}{path}"

    def _get(self, url, params=None):
        assert url == self._url("/system/df"), url
        self.calls.append(("df", params))
        volumes = copy.deepcopy(self.volumes)
        if params.get("verbose") == "1" and version_gte(self.api_version, "1.52"):
            return {"VolumeUsage": {"ActiveCount": 2, "TotalCount": len(volumes), "TotalSize": 0, "Reclaimable": 0, "Items": volumes}}
        return {"Volumes": volumes}

    def _result(self, response, json=False):
        assert json
        return response


# -- settings, the exporter, its metrics --------------------------------------------------------

MONITORING = {
    "prometheusUrl": "http://prometheus:9090",
    "exporterPort": 9101,
    "scrapeIntervalSeconds": 15,
    "homeUsageIntervalSeconds": 600,
    "chartJsFile": "/srv/jupyterhub/monitoring/chart.umd.js",
    "exporterTokenFile": "/srv/jupyterhub/exporter-token",
    "prometheusService": {"name": "gmap-prometheus", "scopes": ["read:metrics"]},
    "exporterService": {"name": "gmap-exporter", "scopes": ["list:users", "read:users", "read:servers", "read:groups"]},
    "stackLabels": {PREFIX: "gmap-dev"},
    "componentLabel": COMPONENT,
}


def monitored(settings, hub_port):
    """The test settings with monitoring, named servers, a ceiling; the hub's API at 127.0.0.1:``hub_port`` under /jupyter/."""
    settings["hub"].update(publicUrl="https://hub.example.org/jupyter", connectHost="127.0.0.1", port=hub_port)
    settings["spawner"]["labels"] = dict(USER_LABELS)
    settings["spawner"]["namedServers"] = {
        "limit": 3,
        "containerNameTemplate": "gmap-dev-user-{username}--{servername}",
        "networkTemplate": "gmap-dev-u-{username}--{servername}",
    }
    settings["spawner"].update(maxServers=10, memoryBudget="64G")
    settings["monitoring"] = copy.deepcopy(MONITORING)
    return settings


@pytest.fixture
def exporter_module():
    from gmap_hub.monitoring import exporter

    return exporter


class Clock:
    """The exporters' clock, which the tests move (seconds)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make_exporter(exporter_module, tmp_path, monkeypatch, clock):
    """make_exporter(settings, engine) -> an Exporter of the settings (read as the exporter reads
    them: the contract checked), the engine a FakeDocker, the host's memory and disk fixed, the
    clock ``clock``."""
    from gmap_hub.settings import load_json

    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16384000 kB\nMemFree:         1024000 kB\nMemAvailable:    8192000 kB\nHugePages_Total:       0\n")
    monkeypatch.setattr(exporter_module.os, "statvfs", lambda path: SimpleNamespace(f_blocks=1000, f_frsize=4096, f_bavail=250, f_bfree=300))
    made = []

    def make(settings, engine, **kwargs):
        kwargs.setdefault("clock", clock)
        path = tmp_path / "settings.json"
        path.write_text(json.dumps(settings))
        config = exporter_module.ExporterSettings.from_settings(load_json(str(path), "settings", "GMAP_HUB_SETTINGS"))
        hub = exporter_module.HubClient(config.hub_api, TOKEN, timeout=2)

        def client(timeout):
            if isinstance(engine, Exception):
                raise engine
            return engine

        e = exporter_module.Exporter(config, hub, client, meminfo=str(meminfo), **kwargs)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()


def scrape(exporter_module, exporter):
    """What Prometheus reads: metric name -> {labels (sorted tuple): value}."""
    registry = CollectorRegistry()
    registry.register(exporter_module.SnapshotCollector(exporter))
    samples = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def metric(samples, name, *keys):
    """{label values in the order of ``keys``: value} of one metric."""
    return {tuple(dict(labels)[k] for k in keys): value for labels, value in samples.get(name, {}).items()}


HOST = {
    "gmap_host_memory_bytes": {(): 16384000 * 1024},
    "gmap_host_memory_available_bytes": {(): 8192000 * 1024},
    "gmap_host_disk_bytes": {(): 1000 * 4096},
    "gmap_host_disk_free_bytes": {(): 250 * 4096},
}
#: Every metric of the exporter (the samples' names: counters end in _total).
METRICS = {
    "gmap_server_running",
    "gmap_server_memory_bytes",
    "gmap_server_memory_limit_bytes",
    "gmap_server_cpu_seconds_total",
    "gmap_server_network_receive_bytes_total",
    "gmap_server_network_transmit_bytes_total",
    "gmap_home_bytes",
    "gmap_user_group",
    "gmap_container_memory_bytes",
    *HOST,
    "gmap_servers_limit",
    "gmap_memory_budget_bytes",
    "gmap_exporter_errors_total",
}
STACK = {("exporter",): 40_000_000, ("hub",): 200_000_000, ("prometheus",): 300_000_000, ("proxy",): 49_000_000}


def requested(fake_hub):
    """The hub's requests: (path, state filter or None, offset)."""
    return [(path, query.get("state"), query["offset"]) for path, query, _ in fake_hub.requests]


USERS_PATH = "/jupyter/hub/api/users"


def test_the_metrics_of_two_users_their_servers_groups_homes_the_stack_and_the_host(fake_hub, settings, make_exporter, exporter_module):
    engine = FakeDocker()
    exporter = make_exporter(monitored(settings, fake_hub.port), engine)
    exporter.refresh_homes()
    exporter.snapshot = exporter.collect()
    samples = scrape(exporter_module, exporter)

    # the servers the hub lists as ready, by the spawner's names (Ada's escaped, her named server's
    # "--gis"); Bob's stopped "old" and Carol's starting server are not there
    assert metric(samples, "gmap_server_running", "user", "server", "image") == {(ADA, "", ISIS): 1, (ADA, "gis", MINIMAL): 1, ("bob", "", MINIMAL): 1}
    assert metric(samples, "gmap_server_memory_bytes", "user", "server") == {(ADA, ""): 200 * 2**20, (ADA, "gis"): 40_000_000, ("bob", ""): 1000}
    assert metric(samples, "gmap_server_memory_limit_bytes", "user", "server") == {(ADA, ""): 2 * GiB, ("bob", ""): GiB}
    assert metric(samples, "gmap_server_cpu_seconds_total", "user", "server") == {(ADA, ""): 12.5, (ADA, "gis"): 1.0, ("bob", ""): 0.5}
    assert metric(samples, "gmap_server_network_receive_bytes_total", "user", "server") == {(ADA, ""): 1024, (ADA, "gis"): 10, ("bob", ""): 5}
    assert metric(samples, "gmap_server_network_transmit_bytes_total", "user", "server") == {(ADA, ""): 2006, (ADA, "gis"): 20, ("bob", ""): 6}
    assert metric(samples, "gmap_user_group", "user", "group") == {(ADA, "planetary"): 1, (ADA, "staff"): 1, ("bob", "planetary"): 1, ("dan", "staff"): 1}
    # every user's home volume the engine measured, whether their server runs or not
    assert metric(samples, "gmap_home_bytes", "user") == {(ADA,): 123_456_789, ("bob",): 42, ("dan",): 7}
    # the stack's own containers by component: not user servers, not another stack's
    assert metric(samples, "gmap_container_memory_bytes", "component") == STACK
    for name, values in HOST.items():
        assert samples[name] == values
    assert samples["gmap_servers_limit"] == {(): 10}
    assert samples["gmap_memory_budget_bytes"] == {(): 64 * GiB}
    assert metric(samples, "gmap_exporter_errors_total", "source") == {("hub",): 0, ("engine",): 0, ("host",): 0}
    assert set(samples) == METRICS

    # the hub asked with the token, under the public URL's path, page after page: the users with a
    # ready server (the pages of those with a server, Carol's empty), then every user
    assert requested(fake_hub) == [(USERS_PATH, "ready", "0"), (USERS_PATH, "ready", "2"), (USERS_PATH, None, "0"), (USERS_PATH, None, "2")]
    assert {headers["Authorization"] for _, _, headers in fake_hub.requests} == {f"token {TOKEN}"}
    assert fake_hub.requests[0][2]["Accept"] == "application/jupyterhub-pagination+json"
    # one stats call (one sample, at once) per measured container; the servers' containers inspected once
    stats = sorted(c[1] for c in engine.calls if c[0] == "stats")
    assert stats == ["c-ada", "c-ada-gis", "c-bob", "c-exporter", "c-hub", "c-prometheus", "c-proxy"]
    assert {c[2:] for c in engine.calls if c[0] == "stats"} == {(False, True)}
    exporter.collect()
    assert sorted(c[1] for c in engine.calls if c[0] == "inspect_container") == ["c-ada", "c-ada-gis", "c-bob"]


def test_every_user_is_listed_only_on_the_homes_interval(fake_hub, settings, make_exporter, exporter_module, clock):
    exporter = make_exporter(monitored(settings, fake_hub.port), FakeDocker())
    exporter.snapshot = exporter.collect()
    assert [state for _, state, _ in requested(fake_hub)] == ["ready", "ready", None, None]

    # Bob joins a group, Erin comes without a server, Ada starts a third server: the snapshots of the
    # next homeUsageIntervalSeconds ask for the users with a ready server only, whose groups they take
    # from that listing; the others' groups stay those of the listing of all
    fake_hub.users[1]["groups"].append("staff")
    fake_hub.users.append({"kind": "user", "name": "erin", "groups": ["planetary"], "servers": {}})
    fake_hub.users[0]["servers"]["old"] = {"name": "old", "ready": True, "pending": None}
    CONTAINERS_PLUS = {**CONTAINERS, "c-ada-old": (f"gmap-dev-user-{ESCAPED}--old", USER_LABELS, MINIMAL, (MINIMAL, 0), cgroup2(1, 0, 1, {}))}
    exporter._engine = lambda timeout: FakeDocker(CONTAINERS_PLUS)
    exporter._clients.clear()
    fake_hub.requests.clear()
    clock.now += 599
    exporter.snapshot = exporter.collect()
    assert [state for _, state, _ in requested(fake_hub)] == ["ready", "ready"]
    samples = scrape(exporter_module, exporter)
    assert (ADA, "old", MINIMAL) in metric(samples, "gmap_server_running", "user", "server", "image")
    # (bob's server is ready: his new group at once)
    assert metric(samples, "gmap_user_group", "user", "group") == {
        (ADA, "planetary"): 1,
        (ADA, "staff"): 1,
        ("bob", "planetary"): 1,
        ("bob", "staff"): 1,
        ("dan", "staff"): 1,
    }

    # homeUsageIntervalSeconds after the last listing of all, the next snapshot takes one again
    fake_hub.requests.clear()
    clock.now += 1
    exporter.snapshot = exporter.collect()
    assert [state for _, state, _ in requested(fake_hub)] == ["ready", "ready", None, None, None]
    samples = scrape(exporter_module, exporter)
    assert metric(samples, "gmap_user_group", "user", "group") == {
        (ADA, "planetary"): 1,
        (ADA, "staff"): 1,
        ("bob", "planetary"): 1,
        ("bob", "staff"): 1,
        ("dan", "staff"): 1,
        ("erin", "planetary"): 1,
    }


def test_a_user_met_on_two_pages_counts_once(fake_hub, settings, make_exporter, exporter_module):
    """Between two pages a user comes first in the list (JupyterHub pages by offset): the next page
    begins with a user of the previous one again."""

    def moved(query):
        if query.get("offset") == "0":
            newcomer = "abe" if query.get("state") == "ready" else "aaron"
            servers = {"": {"name": "", "ready": True, "pending": None}} if newcomer == "abe" else {}
            fake_hub.users.insert(0, {"kind": "user", "name": newcomer, "groups": ["x"], "servers": servers})

    fake_hub.after_page = moved
    exporter = make_exporter(monitored(settings, fake_hub.port), FakeDocker())
    snapshot = exporter.collect()
    # Bob came again on the second page of the users with a ready server (Abe, who came meanwhile,
    # is in the next listing), Ada on the second page of all (Abe there, Aaron in the next listing)
    assert sorted((s.user, s.server) for s in snapshot.servers) == [(ADA, ""), (ADA, "gis"), ("bob", "")]
    assert sorted(snapshot.groups) == [(ADA, "planetary"), (ADA, "staff"), ("abe", "x"), ("bob", "planetary"), ("dan", "staff")]
    fake_hub.after_page = None
    names = [u["name"] for u in exporter.hub.users()]
    assert sorted(names) == sorted(set(names)) == sorted(["aaron", "abe", ADA, "bob", "carol", "dan"])


def test_a_stopped_server_drops_out(fake_hub, settings, make_exporter, exporter_module):
    exporter = make_exporter(monitored(settings, fake_hub.port), FakeDocker())
    exporter.snapshot = exporter.collect()
    # Ada stops her named server: the hub lists it no more, its container goes
    del fake_hub.users[0]["servers"]["gis"]
    exporter.snapshot = exporter.collect()
    samples = scrape(exporter_module, exporter)
    assert metric(samples, "gmap_server_running", "user", "server", "image") == {(ADA, "", ISIS): 1, ("bob", "", MINIMAL): 1}
    assert set(metric(samples, "gmap_server_memory_bytes", "user", "server")) == {(ADA, ""), ("bob", "")}


def test_a_server_whose_container_is_gone_is_not_running(fake_hub, settings, make_exporter, exporter_module):
    containers = {cid: c for cid, c in CONTAINERS.items() if cid != "c-bob"}
    exporter = make_exporter(monitored(settings, fake_hub.port), FakeDocker(containers))
    exporter.snapshot = exporter.collect()
    samples = scrape(exporter_module, exporter)
    assert metric(samples, "gmap_server_running", "user", "server", "image") == {(ADA, "", ISIS): 1, (ADA, "gis", MINIMAL): 1}


#: The engine's stats of a container that does not run (any more): empty, read at Go's zero time.
NOT_RUNNING = {
    "read": "0001-01-01T00:00:00Z",
    "preread": "0001-01-01T00:00:00Z",
    "pids_stats": {},
    "blkio_stats": {},
    "num_procs": 0,
    "storage_stats": {},
    "cpu_stats": {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0}, "throttling_data": {}},
    "precpu_stats": {"cpu_usage": {"total_usage": 0}, "throttling_data": {}},
    "memory_stats": {},
}


@pytest.mark.parametrize("ending", ["removed", "stopped"])
def test_a_server_whose_container_goes_while_it_is_measured_is_not_running(fake_hub, settings, make_exporter, exporter_module, ending):
    """Bob's container is in the list of containers, and gone (removed: the engine knows it no more;
    stopped: empty stats) by the time of its stats call: not running in that snapshot, no error."""
    import docker

    class Vanishing(FakeDocker):
        def stats(self, cid, stream=True, one_shot=None):
            if cid in ("c-bob", "c-proxy"):
                self.calls.append(("stats", cid, stream, one_shot))
                if ending == "removed":
                    raise docker.errors.NotFound(f"No such container: {cid}")
                return copy.deepcopy(NOT_RUNNING)
            return super().stats(cid, stream, one_shot)

    engine = Vanishing()
    exporter = make_exporter(monitored(settings, fake_hub.port), engine)
    exporter.snapshot = exporter.collect()
    assert ("stats", "c-bob", False, True) in engine.calls
    samples = scrape(exporter_module, exporter)
    assert metric(samples, "gmap_server_running", "user", "server", "image") == {(ADA, "", ISIS): 1, (ADA, "gis", MINIMAL): 1}
    assert set(metric(samples, "gmap_server_memory_limit_bytes", "user", "server")) == {(ADA, "")}
    assert ("proxy",) not in metric(samples, "gmap_container_memory_bytes", "component")
    assert exporter.problems.counts == {"hub": 0, "engine": 0, "host": 0}


def test_an_unreachable_hub_is_counted_and_logged_once_and_the_rest_is_served(fake_hub, settings, make_exporter, exporter_module, caplog, clock):
    exporter = make_exporter(monitored(settings, closed_port()), FakeDocker())
    exporter.refresh_homes()
    caplog.set_level(logging.INFO, logger="gmap_hub.monitoring.exporter")
    for _ in range(3):
        exporter.snapshot = exporter.collect()
    samples = scrape(exporter_module, exporter)
    # one error a snapshot: without the users with a ready server, all of them are not asked for
    assert metric(samples, "gmap_exporter_errors_total", "source") == {("hub",): 3, ("engine",): 0, ("host",): 0}
    # without the hub, nothing is known of users and servers; the stack and the host are
    for name in ("gmap_server_running", "gmap_server_memory_bytes", "gmap_user_group", "gmap_home_bytes"):
        assert name not in samples
    assert metric(samples, "gmap_container_memory_bytes", "component") == STACK
    for name, values in HOST.items():
        assert samples[name] == values
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "gmap_hub.monitoring.exporter"]
    assert len(warnings) == 1 and warnings[0].startswith("Listing the hub's users with a ready server failed: ")

    # the hub is back: measured again, and said once
    exporter.hub = exporter_module.HubClient(f"http://127.0.0.1:{fake_hub.port}/jupyter/hub/api", TOKEN)
    exporter.snapshot = exporter.collect()
    exporter.collect()
    samples = scrape(exporter_module, exporter)
    assert len(metric(samples, "gmap_server_running", "user", "server", "image")) == 3
    assert len(metric(samples, "gmap_user_group", "user", "group")) == 4
    exporter_records = [r for r in caplog.records if r.name == "gmap_hub.monitoring.exporter"]
    assert [r.getMessage() for r in exporter_records if r.levelno == logging.INFO] == ["Listing the hub's users with a ready server works again"]

    # gone again: the servers are unknown, the groups and homes of the latest listing of all stay
    exporter.hub = exporter_module.HubClient(f"http://127.0.0.1:{closed_port()}/jupyter/hub/api", TOKEN)
    clock.now += 600
    exporter.snapshot = exporter.collect()
    samples = scrape(exporter_module, exporter)
    assert "gmap_server_running" not in samples
    assert len(metric(samples, "gmap_user_group", "user", "group")) == 4
    assert metric(samples, "gmap_home_bytes", "user") == {(ADA,): 123_456_789, ("bob",): 42, ("dan",): 7}
    assert exporter.problems.counts["hub"] == 4


def test_a_refused_token_is_counted_with_the_hubs_message(fake_hub, settings, make_exporter, exporter_module, caplog):
    exporter = make_exporter(monitored(settings, fake_hub.port), FakeDocker())
    exporter.hub = exporter_module.HubClient(exporter.settings.hub_api, "wrong-token")
    exporter.snapshot = exporter.collect()
    assert exporter.problems.counts == {"hub": 1, "engine": 0, "host": 0}
    assert f"GET http://127.0.0.1:{fake_hub.port}/jupyter/hub/api/users?state=ready: HTTP 403: Action is not authorized with current scopes" in caplog.text


def test_a_failed_listing_of_all_users_is_tried_again_at_the_next_snapshot(fake_hub, settings, make_exporter, exporter_module):
    exporter = make_exporter(monitored(settings, fake_hub.port), FakeDocker())

    class Flaky(exporter_module.HubClient):
        """Refuses the first listing of all users."""

        refused = 0

        def users(self, state=None):
            if state is None and not self.refused:
                self.refused += 1
                raise exporter_module.HubError("GET .../users: HTTP 500: Internal Server Error")
            return super().users(state)

    exporter.hub = Flaky(exporter.settings.hub_api, TOKEN)
    snapshot = exporter.collect()
    # the groups of the users with a ready server only
    assert len(snapshot.servers) == 3 and {user for user, _ in snapshot.groups} == {ADA, "bob"}
    assert exporter.problems.counts["hub"] == 1
    assert len(exporter.collect().groups) == 4


def test_an_unreachable_engine_is_counted_and_the_hubs_facts_are_served(fake_hub, settings, make_exporter, exporter_module):
    import docker

    exporter = make_exporter(monitored(settings, fake_hub.port), docker.errors.DockerException("Error while fetching server API version"))
    exporter.refresh_homes()
    exporter.snapshot = exporter.collect()
    samples = scrape(exporter_module, exporter)
    # the list of containers and the volumes' disk usage
    assert metric(samples, "gmap_exporter_errors_total", "source") == {("hub",): 0, ("engine",): 2, ("host",): 0}
    assert "gmap_server_running" not in samples and "gmap_container_memory_bytes" not in samples and "gmap_home_bytes" not in samples
    assert len(metric(samples, "gmap_user_group", "user", "group")) == 4
    assert samples["gmap_host_memory_bytes"] == {(): 16384000 * 1024}


def test_stats_calls_that_hang_are_bounded_and_counted(fake_hub, settings, make_exporter, exporter_module):
    release = threading.Event()

    class Hanging(FakeDocker):
        def stats(self, cid, stream=True, one_shot=None):
            if cid == "c-bob":
                release.wait(10)
            return super().stats(cid, stream, one_shot)

    exporter = make_exporter(monitored(settings, fake_hub.port), Hanging(), stats_budget=0.3)
    started = time.monotonic()
    try:
        exporter.snapshot = exporter.collect()
    finally:
        release.set()
    assert time.monotonic() - started < 3
    samples = scrape(exporter_module, exporter)
    assert exporter.problems.counts == {"hub": 0, "engine": 1, "host": 0}
    # Bob's server runs (the hub and the engine say so), its measurements are missing this time
    assert len(metric(samples, "gmap_server_running", "user", "server", "image")) == 3
    assert set(metric(samples, "gmap_server_memory_bytes", "user", "server")) == {(ADA, ""), (ADA, "gis")}


class OneRound:
    """A stop event set at the first wait, which records how long it was asked to wait."""

    def __init__(self):
        self.waits = []

    def wait(self, timeout):
        self.waits.append(timeout)
        return True


def test_the_homes_are_measured_on_their_own_interval(fake_hub, settings, make_exporter):
    engine = FakeDocker()
    exporter = make_exporter(monitored(settings, fake_hub.port), engine)
    stop = OneRound()
    exporter.run_homes(stop)
    assert [c for c in engine.calls if c[0] == "df"] == [("df", {"type": "volume"})]
    assert stop.waits == [600]
    # the snapshots take them from the last measurement, without asking the engine again
    exporter.collect()
    exporter.collect()
    assert len([c for c in engine.calls if c[0] == "df"]) == 1
    exporter.run(stop)
    assert stop.waits[1] == pytest.approx(15, abs=1)


@pytest.mark.parametrize(
    "api_version,asked",
    [
        # before API 1.42 the engine measures everything (docker-py's df())
        ("1.41", None),
        # the volumes only
        ("1.42", {"type": "volume"}),
        ("1.45", {"type": "volume"}),
        # the volumes only, in VolumeUsage.Items (the legacy Volumes left out)
        ("1.52", {"type": "volume", "verbose": "1"}),
    ],
)
def test_the_engine_is_asked_for_the_volumes_only_where_it_can_be(fake_hub, settings, make_exporter, exporter_module, api_version, asked):
    engine = FakeDocker(api_version=api_version)
    exporter = make_exporter(monitored(settings, fake_hub.port), engine)
    exporter.refresh_homes()
    assert [c for c in engine.calls if c[0] == "df"] == [("df", asked)]
    exporter.snapshot = exporter.collect()
    samples = scrape(exporter_module, exporter)
    assert metric(samples, "gmap_home_bytes", "user") == {(ADA,): 123_456_789, ("bob",): 42, ("dan",): 7}
    assert exporter.problems.counts == {"hub": 0, "engine": 0, "host": 0}


def test_homes_on_host_directories_are_not_measured(fake_hub, settings, make_exporter):
    s = monitored(settings, fake_hub.port)
    home = next(m for m in s["spawner"]["mounts"] if m["name"] == "user")
    home.update(type="bind", source="/srv/homes/{username}")
    engine = FakeDocker()
    exporter = make_exporter(s, engine)
    exporter.run_homes(threading.Event())
    assert exporter.collect().homes == ()
    assert [c for c in engine.calls if c[0] == "df"] == []


def test_no_ceiling_no_ceiling_metrics(fake_hub, settings, make_exporter, exporter_module):
    s = monitored(settings, fake_hub.port)
    del s["spawner"]["maxServers"], s["spawner"]["memoryBudget"]
    exporter = make_exporter(s, FakeDocker())
    samples = scrape(exporter_module, exporter)
    assert "gmap_servers_limit" not in samples and "gmap_memory_budget_bytes" not in samples


def test_the_hub_api_url_follows_the_public_url(settings, exporter_module):
    from gmap_hub.settings import Section

    for public_url, api in (("http://localhost:8000", "http://hub:8081/hub/api"), ("https://x.org/jupyter/", "http://hub:8081/jupyter/hub/api")):
        hub = Section(dict(settings["hub"], publicUrl=public_url), "settings.json", "hub")
        assert exporter_module.hub_api_url(hub) == api


def test_without_its_token_the_exporter_does_not_start(fake_hub, settings, tmp_path, exporter_module, caplog):
    s = monitored(settings, fake_hub.port)
    s["monitoring"]["exporterTokenFile"] = str(tmp_path / "nothing")
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(s))
    # the file settings.json names
    assert exporter_module.main(["--settings", str(path)]) == 2
    assert f"The exporter's token file {tmp_path / 'nothing'} cannot be read" in caplog.text
    # or the one --token-file names instead
    (tmp_path / "nothing").write_text(TOKEN)
    caplog.clear()
    assert exporter_module.main(["--settings", str(path), "--token-file", str(tmp_path / "other")]) == 2
    assert f"The exporter's token file {tmp_path / 'other'} cannot be read" in caplog.text


def test_the_process_serves_metrics_and_sigterm_ends_it(settings, tmp_path):
    """The module run as the container runs it: its metrics over HTTP with neither hub nor engine
    to reach (both counted), then SIGTERM."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    s = monitored(settings, closed_port())
    # the token in the file settings.json names
    s["monitoring"].update(exporterPort=port, scrapeIntervalSeconds=1, exporterTokenFile=str(tmp_path / "token"))
    (tmp_path / "settings.json").write_text(json.dumps(s))
    (tmp_path / "token").write_text(TOKEN)
    env = dict(os.environ, PYTHONPATH=str(HUB_CONFIG), DOCKER_HOST=f"unix://{tmp_path}/no-docker.sock")
    command = [sys.executable, "-m", "gmap_hub.monitoring.exporter", "--settings", str(tmp_path / "settings.json")]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        errors, deadline = {}, time.monotonic() + 60
        while time.monotonic() < deadline and not (errors.get("hub", 0) >= 2 and errors.get("engine", 0) >= 2):
            assert proc.poll() is None, proc.stdout.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                    text = response.read().decode()
            except OSError:
                time.sleep(0.2)
                continue
            families = {f.name: f for f in text_string_to_metric_families(text)}
            errors = {s.labels["source"]: s.value for s in families["gmap_exporter_errors"].samples}
            time.sleep(0.2)
        assert errors["hub"] >= 2 and errors["engine"] >= 2, errors
        assert "gmap_host_memory_bytes" in families
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 3
        output = proc.stdout.read()
        # each kind of error logged once, however many snapshots met it
        assert output.count("Listing the hub's users with a ready server failed") == 1, output
        assert output.count("Listing the running containers failed") == 1, output
        assert "SIGTERM: stopping" in output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
