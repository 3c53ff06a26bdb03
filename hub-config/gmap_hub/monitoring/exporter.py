"""The exporter of per-user measurements (``python3 -m gmap_hub.monitoring.exporter``): a container of
the hub's image on the monitoring network, with the Docker socket, serving Prometheus metrics on
port ``monitoring.exporterPort`` of settings.json (path ``/metrics``).

Every ``monitoring.scrapeIntervalSeconds`` a background loop takes a snapshot, which every scrape
serves as it is (a scrape never waits for the hub or the engine):

- the users with a ready server and their servers, from the hub's REST API (``GET /users?state=ready``,
  every page) with the token of the service ``monitoring.exporterService`` (its file: settings.json
  ``monitoring.exporterTokenFile``; the scopes it uses: list:users, read:users for the groups,
  read:servers);
- every user and their groups, from the same API without the filter, only every
  ``monitoring.homeUsageIntervalSeconds`` (the snapshots in between keep the latest listing; one
  that failed is tried again at the next snapshot);
- each ready server's container, found by the spawner's own naming (:class:`ServerNames`), and its
  memory, CPU time and network traffic from the Docker engine: one stats call per container, a few
  at once, each bounded in time; the same for the stack's own containers (those carrying
  ``monitoring.stackLabels``, but user servers) by their component (``monitoring.componentLabel``).
  A server whose container is gone or stopped by the time of its stats call is not running;
- the host's memory (/proc/meminfo) and the file system of Docker's data root (the container's "/").

Every ``monitoring.homeUsageIntervalSeconds`` another loop measures the users' home volumes (the
engine's disk usage of the volumes, which measures every volume and so is slow: from API 1.42 the
volumes' alone, before that with the images' and the containers'). A home on a host directory
(a bind mount) is not measured.

An error talking to the hub, the engine or the host is counted (``gmap_exporter_errors_total``,
by source) and logged once per kind until that part works again; what it stopped measuring is
absent from the snapshot, the rest is served. SIGTERM (``docker stop``) ends the process at once.

The metrics (``server`` is "" for a user's default server):

- ``gmap_server_running{user,server,image}``: 1 for each server the hub lists as ready whose
  container runs (``image``: the image the container was created from);
- ``gmap_server_memory_bytes{user,server}`` (without the page cache, as ``docker stats``),
  ``gmap_server_memory_limit_bytes{user,server}`` (absent without a limit),
  ``gmap_server_cpu_seconds_total{user,server}``,
  ``gmap_server_network_receive_bytes_total{user,server}``,
  ``gmap_server_network_transmit_bytes_total{user,server}``;
- ``gmap_home_bytes{user}``: the size of the home volume of each user of the latest listing of all
  and of each user with a ready server;
- ``gmap_user_group{user,group}``: 1 per membership, from the latest listing of all users, and for a
  user with a ready server from the listing of those at this snapshot;
- ``gmap_container_memory_bytes{component}``: the stack's own containers;
- ``gmap_host_memory_bytes``, ``gmap_host_memory_available_bytes``, ``gmap_host_disk_bytes``,
  ``gmap_host_disk_free_bytes``;
- ``gmap_servers_limit`` (spawner.maxServers, absent without), ``gmap_memory_budget_bytes``
  (spawner.memoryBudget, absent without);
- ``gmap_exporter_errors_total{source}``: errors talking to the ``hub``, the ``engine``, the ``host``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import urlparse

import docker
import requests
from docker.utils import kwargs_from_env, version_gte
from jupyterhub import orm
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from traitlets.config import Config

from ..config import DEFAULT_SETTINGS
from ..configure.spawner import configure_named_servers
from ..settings import Section, SettingsError, load_json
from ..spawner import GmapDockerSpawner
from ..spawner.quota import HOME_MOUNT
from ..spawner.sizes import memory_bytes

log = logging.getLogger("gmap_hub.monitoring.exporter")

#: The host's memory (a container sees the host's).
MEMINFO = "/proc/meminfo"
#: A path on the file system of Docker's data root: the container's own root.
DISK_PATH = "/"
#: Stats calls to the engine at once.
STATS_THREADS = 4
#: Seconds any one call to the engine may take (but the disk usage of the volumes).
ENGINE_TIMEOUT = 5
#: Seconds the engine's disk usage may take: it measures every volume.
DISK_USAGE_TIMEOUT = 600
#: Seconds one request to the hub may take.
HUB_TIMEOUT = 10
#: Users asked for per request (JupyterHub's default api_page_max_limit).
PAGE_LIMIT = 200
#: How JupyterHub is asked for a page of a list with where the next one begins.
PAGINATION = "application/jupyterhub-pagination+json"
#: The engine's API version from which a stats call may skip waiting for a second sample.
ONE_SHOT_API = "1.41"
#: The engine's API version from which its disk usage may be asked for the volumes only
#: (``/system/df?type=volume``), and the one from which it lists them in ``VolumeUsage.Items`` when
#: asked with ``verbose`` (the older ``Volumes`` is deprecated there).
VOLUMES_ONLY_API = "1.42"
VOLUME_ITEMS_API = "1.52"
#: The state filter of the hub's user list that keeps the users with a ready server (JupyterHub ≥ 2).
READY = "ready"
#: Where errors come from (gmap_exporter_errors_total{source}).
SOURCES = ("hub", "engine", "host")


def hub_api_url(hub: Section) -> str:
    """The hub's REST API on the stack's networks: ``http://<connectHost>:<port><base_url>hub/api``
    (base_url: the path of the public URL, as the hub's configuration takes it)."""
    base_url = urlparse(hub.string("publicUrl")).path.rstrip("/") + "/"
    return f"http://{hub.string('connectHost')}:{hub.integer('port')}{base_url}hub/api"


@dataclass(frozen=True)
class ExporterSettings:
    """What the exporter reads of settings.json."""

    hub_api: str
    #: the file of the exporter's hub token
    token_file: str
    port: int
    #: seconds between snapshots, and between measurements of the homes
    interval: int
    home_interval: int
    #: settings.json ``spawner``: the servers' names and the home mount (:class:`ServerNames`)
    spawner: Section
    #: labels every container of the stack carries, and the label naming its component
    stack_labels: dict[str, str]
    component_label: str
    #: the component of user servers (spawner.labels), which are measured per user instead
    user_component: str | None
    #: the hub's ceiling (gmap_hub.ceiling); 0: none
    max_servers: int
    memory_budget: int

    @classmethod
    def from_settings(cls, settings: Section) -> ExporterSettings:
        hub, spawner, monitoring = settings.section("hub"), settings.section("spawner"), settings.section("monitoring")
        component_label = monitoring.string("componentLabel")
        return cls(
            hub_api=hub_api_url(hub),
            token_file=monitoring.string("exporterTokenFile"),
            port=monitoring.integer("exporterPort"),
            interval=monitoring.integer("scrapeIntervalSeconds"),
            home_interval=monitoring.integer("homeUsageIntervalSeconds"),
            spawner=spawner,
            stack_labels=monitoring.string_map("stackLabels"),
            component_label=component_label,
            user_component=spawner.string_map("labels", {}).get(component_label),
            max_servers=spawner.integer("maxServers", 0),
            memory_budget=memory_bytes(spawner.optional_string("memoryBudget")),
        )


class ServerNames:
    """The names the spawner gives a server's container and a user's home volume: GmapDockerSpawner's
    own naming (DockerSpawner's escaping, :class:`~gmap_hub.spawner.server_names.ServerNamesMixin`,
    the mounts' ``{username}``), with the templates configured as the hub configures them."""

    def __init__(self, spawner: Section):
        self._config = Config()
        self._config.DockerSpawner.name_template = spawner.string("containerNameTemplate")
        configure_named_servers(self._config, spawner)
        self._named = spawner.has("namedServers")
        home = next((m for m in spawner.sections("mounts", []) if m.string("name") == HOME_MOUNT), None)
        # the engine measures volumes only, not host directories
        per_user_volume = home is not None and home.string("type") == "volume" and home.boolean("perUser")
        #: the home volume's name with {username}, or None
        self.home_template = home.string("source") if per_user_volume else None
        self._containers: dict[tuple[str, str], str] = {}
        self._homes: dict[str, str] = {}

    def _spawner(self, user: str, server: str = "") -> GmapDockerSpawner:
        # a named server's name comes from its database row (one of its own, never saved)
        row = orm.Spawner(name=server) if server else None
        return GmapDockerSpawner(config=self._config, user=SimpleNamespace(name=user), orm_spawner=row)

    def container(self, user: str, server: str) -> str | None:
        """The name of the container of ``user``'s server ``server`` ("": the default one); None for
        a named server when the hub has none."""
        if server and not self._named:
            return None
        key = (user, server)
        if key not in self._containers:
            self._containers[key] = self._spawner(user, server).object_name
        return self._containers[key]

    def home_volume(self, user: str) -> str | None:
        """The name of ``user``'s home volume, or None when the homes are no per-user volume."""
        if self.home_template is None:
            return None
        if user not in self._homes:
            self._homes[user] = self._spawner(user)._substitute_user(self.home_template)
        return self._homes[user]


class Problems:
    """Errors talking to the hub, the engine or the host: each counted by source, and logged the first
    time of its kind (what failed, how) until that works again."""

    def __init__(self):
        self.counts = dict.fromkeys(SOURCES, 0)
        self._open: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def failed(self, source: str, what: str, error: BaseException) -> None:
        kind = (source, what, type(error).__name__)
        with self._lock:
            self.counts[source] += 1
            first = kind not in self._open
            self._open.add(kind)
        if first:
            log.warning("%s failed: %s (counted as source %r; not logged again until it works)", sentence(what), error, source)

    def worked(self, source: str, what: str) -> None:
        with self._lock:
            ended = {kind for kind in self._open if kind[:2] == (source, what)}
            self._open -= ended
        if ended:
            log.info("%s works again", sentence(what))


def sentence(what: str) -> str:
    """``what`` at the beginning of a sentence."""
    return what[:1].upper() + what[1:]


class HubError(Exception):
    """The hub answered a request with an error."""


class HubClient:
    """The hub's REST API, with the exporter's token."""

    def __init__(self, api_url: str, token: str, timeout: float = HUB_TIMEOUT):
        self.api_url = api_url
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers.update({"Authorization": f"token {token}", "Accept": PAGINATION})

    def users(self, state: str | None = None) -> list[dict]:
        """The users with their groups and their servers that run or start (JupyterHub's user
        models), a page of :data:`PAGE_LIMIT` at a time: every user, or with ``state`` only those
        the hub's filter keeps (:data:`READY`: those with a ready server). A user met on two pages
        (the list moved between two requests) is listed once, as last met."""
        url = f"{self.api_url}/users"
        asked = {"state": state} if state else {}
        users: dict[str, dict] = {}
        offset = 0
        while True:
            response = self._session.get(url, params={**asked, "offset": offset, "limit": PAGE_LIMIT}, timeout=self.timeout)
            if response.status_code != 200:
                try:
                    message = response.json()["message"]
                except (ValueError, KeyError, TypeError):
                    message = response.reason
                shown = f"{url}?state={state}" if state else url
                raise HubError(f"GET {shown}: HTTP {response.status_code}: {message}")
            page = response.json()
            if isinstance(page, list):  # a hub that does not paginate
                items, following = page, None
            else:
                items, following = page["items"], (page.get("_pagination") or {}).get("next")
            for user in items:
                users[user["name"]] = user
            if not following or following["offset"] <= offset:
                return list(users.values())
            offset = following["offset"]


def engine_client(timeout: float) -> docker.APIClient:
    """A client of the Docker engine (DOCKER_HOST, else the socket) whose calls take at most ``timeout`` seconds."""
    return docker.APIClient(version="auto", timeout=timeout, **kwargs_from_env())


@dataclass(frozen=True)
class Usage:
    """One container's measurements (the engine's stats)."""

    memory: float
    cpu_seconds: float
    #: bytes received and sent on all its networks; None without a network
    received: int | None
    sent: int | None


def runs(stats: dict | None) -> bool:
    """Whether a stats answer is of a container that runs: the engine answers a container that does
    not (any more) with empty stats, read at Go's zero time."""
    return bool(stats) and not str(stats.get("read") or "").startswith("0001-01-01")


class ContainerGone(Exception):
    """A container's stats say it does not run (any more)."""


def container_usage(stats: dict) -> Usage | None:
    """The measurements of a stats answer; None when it has none (no memory measured)."""
    memory = stats.get("memory_stats") or {}
    if "usage" not in memory:
        return None
    used = memory["usage"]
    counters = memory.get("stats") or {}
    # as `docker stats`: without the inactive page cache (cgroup v1: total_inactive_file, v2: inactive_file)
    cache = counters["total_inactive_file"] if "total_inactive_file" in counters else counters.get("inactive_file", 0)
    networks = stats.get("networks")
    return Usage(
        memory=used - cache if cache < used else used,
        cpu_seconds=stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9,
        received=sum(n["rx_bytes"] for n in networks.values()) if networks else None,
        sent=sum(n["tx_bytes"] for n in networks.values()) if networks else None,
    )


def volume_usage(client: docker.APIClient) -> list[dict]:
    """The engine's volumes with their usage (``docker system df``'s, each with ``Name`` and
    ``UsageData.Size``): from API :data:`VOLUMES_ONLY_API` asked for the volumes alone
    (``/system/df?type=volume``: the engine does not measure the images and the containers' layers
    too), before that the whole disk usage (docker-py's ``df()``)."""
    if not version_gte(client.api_version, VOLUMES_ONLY_API):
        answer = client.df()
    else:
        # docker-py's df() takes no parameters: its own request, with the client's timeout
        params = {"type": "volume"}
        if version_gte(client.api_version, VOLUME_ITEMS_API):
            params["verbose"] = "1"
        answer = client._result(client._get(client._url("/system/df"), params=params), True)
    if answer.get("Volumes") is not None:
        return answer["Volumes"]
    return (answer.get("VolumeUsage") or {}).get("Items") or []


def host_memory(path: str = MEMINFO) -> tuple[int, int]:
    """The host's memory and the memory available for new work (MemAvailable), in bytes."""
    values = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            key, _, rest = line.partition(":")
            fields = rest.split()
            if fields:
                values[key] = int(fields[0]) * (1024 if fields[1:] == ["kB"] else 1)
    return values["MemTotal"], values["MemAvailable"]


def host_disk(path: str = DISK_PATH) -> tuple[int, int]:
    """The size of the file system of ``path`` and its space free for use (as ``df`` Avail), in bytes."""
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


@dataclass(frozen=True)
class Server:
    """A server that runs: its names, its container's image and memory limit (0: none), its measurements."""

    user: str
    server: str
    image: str
    memory_limit: int
    usage: Usage | None


@dataclass(frozen=True)
class Snapshot:
    """One round of measurements: what the scrapes serve until the next. Absent: not measured."""

    servers: tuple[Server, ...] = ()
    #: (user, group) per membership
    groups: tuple[tuple[str, str], ...] = ()
    #: (user, bytes) per measured home
    homes: tuple[tuple[str, int], ...] = ()
    #: (component, bytes in use) per component of the stack's containers
    components: tuple[tuple[str, float], ...] = ()
    #: (total, available), of the host's memory and of Docker's data root
    host_memory: tuple[int, int] | None = None
    host_disk: tuple[int, int] | None = None


class Exporter:
    """Takes the snapshots (:meth:`collect`, every ``interval`` in :meth:`run`) and measures the homes
    (:meth:`refresh_homes`, every ``home_interval`` in :meth:`run_homes`). ``engine(timeout)`` makes
    a Docker API client; ``stats_budget``: seconds all stats calls of a snapshot may take together
    (default: the interval); ``clock``: seconds, for the age of the listing of all users."""

    def __init__(
        self,
        settings: ExporterSettings,
        hub: HubClient,
        engine: Callable[[float], docker.APIClient] = engine_client,
        *,
        meminfo: str = MEMINFO,
        disk: str = DISK_PATH,
        stats_threads: int = STATS_THREADS,
        stats_budget: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self.hub = hub
        self.names = ServerNames(settings.spawner)
        self.problems = Problems()
        self.snapshot = Snapshot()
        self.meminfo, self.disk = meminfo, disk
        self.stats_budget = stats_budget if stats_budget is not None else settings.interval
        self._engine = engine
        self._clients: dict[float, docker.APIClient] = {}
        self._pool = ThreadPoolExecutor(stats_threads, thread_name_prefix="gmap-stats")
        #: a container's image and memory limit by its id (they do not change while it exists)
        self._facts: dict[str, tuple[str, int]] = {}
        #: the size of each volume the engine measured by its name (refresh_homes)
        self._volumes: dict[str, int] = {}
        self._clock = clock
        #: the latest listing of all users: each one's name and groups, and when it was taken (clock)
        self._everyone: tuple[tuple[str, tuple[str, ...]], ...] | None = None
        self._everyone_at = 0.0

    def client(self, timeout: float) -> docker.APIClient:
        """The engine's client whose calls take at most ``timeout`` seconds (made on first use)."""
        if timeout not in self._clients:
            self._clients[timeout] = self._engine(timeout)
        return self._clients[timeout]

    def close(self) -> None:
        """Stops the stats calls not yet begun."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the loops ----------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Takes a snapshot every ``interval`` seconds until ``stop`` is set."""
        while True:
            started = time.monotonic()
            try:
                self.snapshot = self.collect()
            except Exception:  # a fault of the exporter itself: the last snapshot stays, the loop goes on
                log.exception("Taking a snapshot failed")
            if stop.wait(max(0.0, self.settings.interval - (time.monotonic() - started))):
                return

    def run_homes(self, stop: threading.Event) -> None:
        """Measures the home volumes every ``home_interval`` seconds until ``stop`` is set (nothing
        when the homes are no per-user volume)."""
        if self.names.home_template is None:
            return
        while True:
            try:
                self.refresh_homes()
            except Exception:  # as in run
                log.exception("Measuring the homes failed")
            if stop.wait(self.settings.home_interval):
                return

    # -- the measurements ---------------------------------------------------------------------------
    def refresh_homes(self) -> None:
        """Measures every volume (the engine's disk usage); the snapshots take the homes' sizes from it."""
        what = "measuring the volumes (Docker's disk usage)"
        try:
            volumes = volume_usage(self.client(DISK_USAGE_TIMEOUT))
        except Exception as e:
            self.problems.failed("engine", what, e)
            return
        self.problems.worked("engine", what)
        # the engine measures volumes of its local driver only (others: -1)
        sizes = {v["Name"]: (v.get("UsageData") or {}).get("Size", -1) for v in volumes}
        self._volumes = {name: size for name, size in sizes.items() if size >= 0}

    def collect(self) -> Snapshot:
        """One snapshot: the servers the hub lists as ready, the containers' stats, the host; the
        users' groups and homes of the latest listing of all users (taken again when it is
        ``home_interval`` old)."""
        ready = self._users("listing the hub's users with a ready server", READY)
        if ready is not None and (self._everyone is None or self._clock() - self._everyone_at >= self.settings.home_interval):
            everyone = self._users("listing the hub's users")
            if everyone is not None:
                self._everyone = tuple((u["name"], tuple(u.get("groups") or [])) for u in everyone)
                self._everyone_at = self._clock()
        containers = self._containers()
        servers, stack = [], []
        if containers is not None:
            # what is known of containers that are gone goes (what is known of the others stays)
            present = {c["Id"] for c in containers}
            self._facts = {cid: facts for cid, facts in self._facts.items() if cid in present}
            by_name = {name.lstrip("/"): c for c in containers for name in c.get("Names") or []}
            servers = self._running(ready, by_name) if ready is not None else []
            stack = self._stack(containers)
        usages, gone = self._measure(
            {c["Id"] for _, _, c in servers} | {c["Id"] for _, c in stack},
            [c["Id"] for _, _, c in servers if c["Id"] not in self._facts],
        )
        running = []
        for user, server, c in servers:
            if c["Id"] in gone:  # stopped or removed since the list of containers
                continue
            # the image as the list has it when the container could not be inspected
            image, memory_limit = self._facts.get(c["Id"], (c.get("Image", ""), 0))
            running.append(Server(user, server, image, memory_limit, usages.get(c["Id"])))
        components: dict[str, float] = {}
        for component, c in stack:
            if usages.get(c["Id"]) is not None:
                components[component] = components.get(component, 0) + usages[c["Id"]].memory
        # the groups of the latest listing of all users, those of a user with a ready server as the hub has them now
        everyone = dict(self._everyone or ())
        everyone.update((u["name"], tuple(u.get("groups") or [])) for u in ready or [])
        return Snapshot(
            servers=tuple(running),
            groups=tuple((user, group) for user, groups in sorted(everyone.items()) for group in groups),
            homes=self._homes(sorted(everyone)),
            components=tuple(sorted(components.items())),
            host_memory=self._host("reading the host's memory", host_memory, self.meminfo),
            host_disk=self._host("reading the size of the disk", host_disk, self.disk),
        )

    def _users(self, what: str, state: str | None = None) -> list[dict] | None:
        try:
            users = self.hub.users(state)
        except Exception as e:
            self.problems.failed("hub", what, e)
            return None
        self.problems.worked("hub", what)
        return users

    def _containers(self) -> list[dict] | None:
        what = "listing the running containers"
        try:
            containers = self.client(ENGINE_TIMEOUT).containers()
        except Exception as e:
            self.problems.failed("engine", what, e)
            return None
        self.problems.worked("engine", what)
        return containers

    def _running(self, users: list[dict], by_name: dict[str, dict]) -> list[tuple[str, str, dict]]:
        """(user, server, container) of each server the hub lists as ready whose container runs."""
        found = []
        for user in users:
            for server, model in (user.get("servers") or {}).items():
                name = self.names.container(user["name"], server) if model.get("ready") else None
                if name in by_name:
                    found.append((user["name"], server, by_name[name]))
        return found

    def _stack(self, containers: list[dict]) -> list[tuple[str, dict]]:
        """(component, container) of each of the stack's own containers (user servers apart)."""
        s = self.settings
        found = []
        for c in containers:
            labels = c.get("Labels") or {}
            component = labels.get(s.component_label)
            if component and component != s.user_component and all(labels.get(k) == v for k, v in s.stack_labels.items()):
                found.append((component, c))
        return found

    def _measure(self, ids: set[str], unknown: list[str]) -> tuple[dict[str, Usage | None], set[str]]:
        """The stats of the containers ``ids`` (and the facts of those ``unknown``), a few calls at once,
        together within the stats budget; a container without them is absent. And the containers
        that the engine says are gone or stopped meanwhile."""
        calls: dict[Future, tuple[str, str]] = {self._pool.submit(self._stats, cid): ("stats", cid) for cid in sorted(ids)}
        calls.update({self._pool.submit(self._inspect, cid): ("facts", cid) for cid in unknown})
        done, late = wait(calls, timeout=self.stats_budget)
        usages: dict[str, Usage | None] = {}
        gone: set[str] = set()
        failed = False
        for future in done:
            kind, cid = calls[future]
            try:
                result = future.result()
            except (docker.errors.NotFound, ContainerGone):  # gone meanwhile: not running any more
                gone.add(cid)
                continue
            except Exception as e:
                failed = True
                self.problems.failed("engine", "reading a container's stats", e)
                continue
            if kind == "stats":
                usages[cid] = result
            else:
                self._facts[cid] = result
        if not failed:
            self.problems.worked("engine", "reading a container's stats")
        what = "measuring the containers in time"
        for future in late:
            future.cancel()
        if late:
            self.problems.failed("engine", what, TimeoutError(f"{len(late)} of {len(calls)} calls took longer than {self.stats_budget:g} s together"))
        else:
            self.problems.worked("engine", what)
        return usages, gone

    def _stats(self, container_id: str) -> Usage | None:
        client = self.client(ENGINE_TIMEOUT)
        # one sample, at once (without one_shot the engine waits for a second one)
        one_shot = True if version_gte(client.api_version, ONE_SHOT_API) else None
        stats = client.stats(container_id, stream=False, one_shot=one_shot)
        if not runs(stats):
            raise ContainerGone(container_id)
        return container_usage(stats)

    def _inspect(self, container_id: str) -> tuple[str, int]:
        info = self.client(ENGINE_TIMEOUT).inspect_container(container_id)
        return info["Config"]["Image"], info["HostConfig"].get("Memory") or 0

    def _homes(self, users: list[str]) -> tuple[tuple[str, int], ...]:
        volumes = self._volumes
        homes = ((user, self.names.home_volume(user)) for user in users)
        return tuple((user, volumes[volume]) for user, volume in homes if volume in volumes)

    def _host(self, what: str, read: Callable[[str], tuple[int, int]], path: str) -> tuple[int, int] | None:
        try:
            value = read(path)
        except Exception as e:
            self.problems.failed("host", what, e)
            return None
        self.problems.worked("host", what)
        return value


class SnapshotCollector(Collector):
    """The metrics of the exporter's latest snapshot and its error counts."""

    def __init__(self, exporter: Exporter):
        self.exporter = exporter

    def collect(self) -> Iterator:
        snapshot, settings = self.exporter.snapshot, self.exporter.settings
        server = ["user", "server"]

        running = GaugeMetricFamily("gmap_server_running", "1 for each server the hub lists as ready whose container runs.", labels=[*server, "image"])
        memory = GaugeMetricFamily("gmap_server_memory_bytes", "Memory a server uses, without the page cache (as docker stats).", labels=server)
        limit = GaugeMetricFamily("gmap_server_memory_limit_bytes", "Memory limit of a server's container (absent without one).", labels=server)
        cpu = CounterMetricFamily("gmap_server_cpu_seconds_total", "CPU time a server's container used.", labels=server)
        received = CounterMetricFamily("gmap_server_network_receive_bytes_total", "Bytes a server's container received.", labels=server)
        sent = CounterMetricFamily("gmap_server_network_transmit_bytes_total", "Bytes a server's container sent.", labels=server)
        for s in snapshot.servers:
            names = [s.user, s.server]
            running.add_metric([*names, s.image], 1)
            if s.memory_limit:
                limit.add_metric(names, s.memory_limit)
            if s.usage is None:
                continue
            memory.add_metric(names, s.usage.memory)
            cpu.add_metric(names, s.usage.cpu_seconds)
            if s.usage.received is not None:
                received.add_metric(names, s.usage.received)
                sent.add_metric(names, s.usage.sent)
        yield from (running, memory, limit, cpu, received, sent)

        homes = GaugeMetricFamily("gmap_home_bytes", "Size of a user's home volume (measured every homeUsageIntervalSeconds).", labels=["user"])
        for user, size in snapshot.homes:
            homes.add_metric([user], size)
        yield homes
        groups = GaugeMetricFamily("gmap_user_group", "1 per membership of a user in a group.", labels=["user", "group"])
        for user, group in snapshot.groups:
            groups.add_metric([user, group], 1)
        yield groups
        components = GaugeMetricFamily("gmap_container_memory_bytes", "Memory the stack's own containers use, by component.", labels=["component"])
        for component, used in snapshot.components:
            components.add_metric([component], used)
        yield components

        if snapshot.host_memory is not None:
            yield GaugeMetricFamily("gmap_host_memory_bytes", "The host's memory.", value=snapshot.host_memory[0])
            yield GaugeMetricFamily("gmap_host_memory_available_bytes", "The host's memory available for new work.", value=snapshot.host_memory[1])
        if snapshot.host_disk is not None:
            yield GaugeMetricFamily("gmap_host_disk_bytes", "Size of the file system of Docker's data root.", value=snapshot.host_disk[0])
            yield GaugeMetricFamily("gmap_host_disk_free_bytes", "Space free for use on the file system of Docker's data root.", value=snapshot.host_disk[1])
        if settings.max_servers:
            yield GaugeMetricFamily("gmap_servers_limit", "The most servers the hub runs at once (spawner.maxServers).", value=settings.max_servers)
        if settings.memory_budget:
            budget = "What the running servers' memory limits may add up to (spawner.memoryBudget)."
            yield GaugeMetricFamily("gmap_memory_budget_bytes", budget, value=settings.memory_budget)

        errors = CounterMetricFamily("gmap_exporter_errors_total", "Errors talking to the hub, the Docker engine or the host.", labels=["source"])
        for source, count in self.exporter.problems.counts.items():
            errors.add_metric([source], count)
        yield errors


def read_token(path: str) -> str:
    """The exporter's hub token from its file."""
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except OSError as e:
        raise SettingsError(f"The exporter's token file {path} cannot be read: {e.strerror}") from None
    if not token:
        raise SettingsError(f"The exporter's token file {path} is empty")
    return token


def main(argv: list[str] | None = None) -> int:
    """Serves the metrics until SIGTERM or SIGINT; 2 when the settings or the token cannot be read."""
    parser = argparse.ArgumentParser(prog="python3 -m gmap_hub.monitoring.exporter", description="Per-user measurements of the hub for Prometheus.")
    parser.add_argument("--settings", default=os.environ.get("GMAP_HUB_SETTINGS", DEFAULT_SETTINGS), help="the hub's settings.json")
    parser.add_argument("--token-file", help="the exporter's hub token (default: settings.json monitoring.exporterTokenFile)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = ExporterSettings.from_settings(load_json(args.settings, "settings", "GMAP_HUB_SETTINGS"))
        token = read_token(args.token_file or settings.token_file)
    except SettingsError as e:
        log.error("%s", e)
        return 2

    # every thread started from here on inherits the blocked signals: only sigwait below takes them
    stopping = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
    exporter = Exporter(settings, HubClient(settings.hub_api, token))
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(exporter))
    server, _ = start_http_server(settings.port, addr="0.0.0.0", registry=registry)
    stop = threading.Event()
    for loop, name in ((exporter.run, "gmap-snapshots"), (exporter.run_homes, "gmap-homes")):
        threading.Thread(target=loop, args=(stop,), name=name, daemon=True).start()
    log.info("Serving metrics on port %d (hub API %s, a snapshot every %d s)", settings.port, settings.hub_api, settings.interval)

    received = signal.sigwait(stopping)
    log.info("%s: stopping", signal.Signals(received).name)
    stop.set()
    server.shutdown()
    exporter.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
