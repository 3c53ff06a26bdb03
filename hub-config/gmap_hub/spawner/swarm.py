"""GmapSwarmSpawner: GmapDockerSpawner whose servers are Docker Swarm services (settings'
``spawner.swarm``; docs/swarm.md): one task each, on an attachable overlay network of its own,
placed by constraints, watched through its task and the service's log."""

from __future__ import annotations

import asyncio
import inspect
import re
from pathlib import Path

from docker.errors import APIError, NotFound
from docker.types import ContainerSpec, EndpointSpec, Placement, Resources, RestartPolicy, TaskTemplate
from dockerspawner import SwarmSpawner
from tornado import web
from traitlets import Dict, Float, List, Unicode, default

from .host import GmapDockerSpawner
from .logs import HideShareCredentials
from .server_names import ServerNamesMixin, bounded
from .startup import HOOK_SCAN_LINES

#: Swarm task states before the task runs (``start_object`` waits), and the ones a task that has not
#: been placed on a node yet is in (bounded by ``placement_timeout``).
TASK_STARTING = {"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"}
TASK_UNPLACED = {"new", "allocated", "pending"}
#: The command wrapper (``sh -c WRAPPER gmap-no-new-privileges CMD...``) that starts a server's command
#: with no-new-privileges, which a service cannot carry as a setting on Docker 20.10 (API 1.41).
NO_NEW_PRIVILEGES_WRAPPER = Path(__file__).with_name("no-new-privileges.sh").read_text(encoding="utf-8")
#: A log line's timestamp (``service_logs(timestamps=True)``): date and time, fraction of a second.
_LOG_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(?:Z|[+-]\d\d:\d\d) ")


def _in_time_order(log: str) -> list[str]:
    """The lines of a service log with timestamps, oldest first, without the timestamps: Swarm
    delivers stdout and stderr of a task out of order."""
    keyed = []
    for i, line in enumerate(log.splitlines()):
        match = _LOG_TIMESTAMP.match(line)
        if match:
            key = (match[1], (match[2] or "").ljust(9, "0"))
            line = line[match.end() :]
        else:  # a continuation: stays after its predecessor
            key = keyed[-1][0] if keyed else ("", "")
        keyed.append((key, i, line))
    return [line for _, _, line in sorted(keyed)]


class GmapSwarmSpawner(GmapDockerSpawner, SwarmSpawner):
    """GmapDockerSpawner whose servers are Docker Swarm services: the same command (start hook wrapper
    included), environment, labels and mounts, run as root; no per-user host directories (the helper
    would run on the manager); the service has no virtual IP (``dnsrr``) and publishes no port."""

    constraints = List(Unicode(), config=True, help="Swarm placement constraints of every server, e.g. node.role==worker.")
    image_constraints = Dict(
        List(Unicode()),
        config=True,
        help="Extra placement constraints of the servers of an image, by the image's short name.",
    )
    placement_timeout = Float(
        30.0,
        config=True,
        help="Seconds a server's task may wait for a node (Swarm finds none that fits) before the spawn fails with Swarm's reason.",
    )
    network_allocation_timeout = Float(2.0, config=True, help="Seconds a new user network may take to get its subnet from the Swarm manager.")
    egress_guard_service = Unicode(
        "",
        config=True,
        help="The global service whose task on a node keeps its egress rules (spawner.egress.restrict): "
        "a server runs only on a node where one runs. Empty: none.",
    )

    _removed_service = None

    @default("object_name")
    def _object_name_default(self):
        # a service's name is a DNS label: at most 63 characters, long user and server names shortened
        return bounded(ServerNamesMixin._object_name_default(self))

    # -- mounts -----------------------------------------------------------------------------------
    def _refuse_per_user_binds(self) -> None:
        for spec in self.mount_specs:
            if spec["type"] == "bind" and spec["per_user"]:
                raise ValueError(
                    f"mount {spec['name']!r}: per-user host directories are not available with Docker Swarm (servers run on any node); use a volume"
                )

    @property
    def mounts(self):
        """The mount kwargs of this user's mounts (SwarmSpawner's own mounts know only ``volume_binds``)."""
        self._refuse_per_user_binds()
        return self.current_mounts()

    async def create_host_dirs(self):
        """No per-user host directories: the helper would run on the manager, not on the server's node."""
        self._refuse_per_user_binds()

    # -- network ----------------------------------------------------------------------------------
    def network_options(self) -> dict:
        """An overlay network that the hub's and the proxy's plain containers can join."""
        return {**super().network_options(), "driver": "overlay", "attachable": True}

    async def _subnet_allocated(self, network_id: str, subnet) -> bool:
        """The Swarm manager accepts an overlay network with a subnet that overlaps another one and
        leaves it without address pool: that network is removed and the next subnet tried."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.network_allocation_timeout
        while True:
            network = await self.docker("inspect_network", network_id)
            configs = (network.get("IPAM") or {}).get("Config") or []
            if any(config.get("Subnet") == str(subnet) for config in configs):
                return True
            if loop.time() >= deadline:
                break
            await asyncio.sleep(0.05)
        try:
            await self.docker("remove_network", network_id)
        except NotFound:
            pass
        return False

    async def _server_gone(self) -> bool:
        """Whether every task of the removed service is gone (its container left the network)."""
        if not self._removed_service:
            return True
        # tasks are named <service>.<slot>.<id>; the name filter is a prefix
        tasks = await self.docker("tasks", filters={"name": f"{self.service_name}."})
        return not any(task.get("ServiceID") == self._removed_service for task in tasks)

    # -- the service ------------------------------------------------------------------------------
    async def create_server(self):
        """One service with one task: the container DockerSpawner would create (command, environment,
        user, labels, mounts; the command started with no-new-privileges where host mode's containers
        have it), on the user's network only, placed by the constraints and the limits
        (reservations default to the limits, so that Swarm places servers by free capacity), never
        restarted (a server that ended is reported stopped), without published ports or virtual IP."""
        extra = self._eval_if_callable(self.extra_create_kwargs)
        if inspect.isawaitable(extra):
            extra = await extra
        extra = dict(self._render_templates(extra))
        labels = dict(extra.pop("labels", None) or {})
        limits = self._host_limits()
        container = {
            "image": self.image,
            "args": self._without_privilege_gain(await self.get_command(), limits),
            "env": self.get_env(),
            "user": extra.pop("user", None),
            "labels": labels,
            "mounts": self.mount_binds,
        }
        container.update({key: limits[key] for key in ("cap_add", "cap_drop") if key in limits})
        container.update(self.extra_container_spec)

        nano_cpus = lambda cpus: int(cpus * 1e9) if cpus else None  # noqa: E731
        resources = {
            "mem_limit": self.mem_limit or None,
            "cpu_limit": nano_cpus(self.cpu_limit),
            "mem_reservation": self.mem_guarantee or self.mem_limit or None,
            "cpu_reservation": nano_cpus(self.cpu_guarantee) or nano_cpus(self.cpu_limit),
        }
        resources.update(self.extra_resources_spec)
        image_name = (self.image_entry() or {}).get("name")
        placement = {"constraints": [*self.constraints, *self.image_constraints.get(image_name, [])]}
        placement.update(self.extra_placement_spec)

        task = {
            "container_spec": ContainerSpec(**container),
            "resources": self._with_pids_limit(Resources(**resources), limits.get("pids_limit")),
            "placement": Placement(**placement),
            "restart_policy": RestartPolicy(condition="none"),
            "networks": [self.network_name],
        }
        if limits.get("log_config"):
            task["log_driver"] = {"Name": limits["log_config"]["type"], "Options": dict(limits["log_config"].get("config") or {})}
        task.update(self.extra_task_spec)
        endpoint = {"mode": "dnsrr"}
        endpoint.update(self.extra_endpoint_spec)
        create = {
            "task_template": TaskTemplate(**task),
            "name": self.service_name,
            "labels": labels,
            "endpoint_spec": EndpointSpec(**endpoint),
            **extra,
        }
        # not the environment: it holds the server's API token
        self.log.debug("Creating service %s: %s, %s, mounts %s", self.service_name, task["placement"], task["resources"], container["mounts"])
        return await self.docker("create_service", **create)

    def _host_limits(self) -> dict:
        """The limits of ``extra_host_config`` a service carries too (pids_limit, log_config, cap_add,
        cap_drop, security_opt): DockerSpawner's host config does not reach a service, so they go
        into its task (security_opt's no-new-privileges into its command)."""
        host = self._eval_if_callable(self.extra_host_config) or {}
        return {k: host[k] for k in ("pids_limit", "log_config", "cap_add", "cap_drop", "security_opt") if host.get(k)}

    @staticmethod
    def _without_privilege_gain(command: list[str], limits: dict) -> list[str]:
        """The server's command, started with no-new-privileges when host mode's containers get it."""
        if "no-new-privileges:true" not in limits.get("security_opt", []):
            return command
        return ["sh", "-c", NO_NEW_PRIVILEGES_WRAPPER, "gmap-no-new-privileges", *command]

    @staticmethod
    def _with_pids_limit(resources: Resources, pids: int | None) -> Resources:
        """The task's resources with a process limit (Docker API 1.41+: Limits.Pids)."""
        if pids:
            resources.setdefault("Limits", {})["Pids"] = pids
        return resources

    async def start_object(self):
        """Waits until the service's task runs. A task that ended fails the spawn at once with Swarm's
        reason and its output; one that no node takes for ``placement_timeout`` seconds fails it
        with Swarm's reason (e.g. "no suitable node (scheduling constraints not satisfied on 3
        nodes)")."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadline, unplaced_since, delay = now + self.start_timeout, now, self.ready_poll_interval
        while True:
            task = await self.get_task()
            if task is None and not self.object_id:
                raise self._start_error("The server's service is gone", None)
            state = task["Status"]["State"] if task else "new"
            if state == "running":
                await self._check_egress_guard(task)
                return
            if state not in TASK_STARTING:
                lines = await self._log_lines(HOOK_SCAN_LINES)
                raise self._start_error(f"The server's task {self._task_outcome(task)}", lines or None)
            now = loop.time()
            if state not in TASK_UNPLACED:
                unplaced_since = now
            elif now - unplaced_since >= self.placement_timeout:
                reason = self._task_reason(task) if task else "Swarm created no task"
                raise self._start_error(f"No Swarm node could run the server within {self.placement_timeout:g} seconds: {reason}", None)
            if now >= deadline:
                raise self._start_error(f"The server's task is still {state} after {self.start_timeout} seconds", None)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.start_check_interval)

    async def _check_egress_guard(self, task: dict) -> None:
        """Fails the spawn when the server's node runs no egress guard (a node that has just joined, a
        guard that keeps failing): there the server's connections would not be restricted."""
        if not self.egress_guard_service:
            return
        try:
            guards = await self.docker("tasks", filters={"service": self.egress_guard_service, "node": task.get("NodeID", ""), "desired-state": "running"})
        except NotFound:  # the service itself is gone (removed by hand)
            guards = []
        if any((guard.get("Status") or {}).get("State") == "running" for guard in guards):
            return
        raise self._start_error(
            f"The server's node has no egress guard running ({self.egress_guard_service}): its connections would not be "
            "restricted there. Try again in a minute; if it persists, tell the hub's operator.",
            None,
        )

    @staticmethod
    def _task_reason(task: dict) -> str:
        """Swarm's reason for a task's state; a failed mount's message may quote its options."""
        status = task.get("Status") or {}
        return HideShareCredentials.hide(status.get("Err") or status.get("Message") or status.get("State") or "unknown")

    def _task_outcome(self, task: dict | None) -> str:
        """How a task ended, e.g. "failed: task: non-zero exit (3)"."""
        if task is None:
            return "is gone"
        return f"{task['Status']['State']}: {self._task_reason(task)}"

    async def _stopped(self) -> str | None:
        task = await self.get_task()
        if task is not None and task["Status"]["State"] in TASK_STARTING | {"running"}:
            return None
        return f"The server's task {self._task_outcome(task)}"

    async def poll(self):
        """The task-based poll. A server Swarm moved to another node (its node was drained) counts as
        stopped: the proxy's route and the hub's record still point to the old address, so the hub
        stops the service and the user starts again, on a node that runs servers, with the same
        files (they live on the network). Not at the hub's start: a spawn the earlier hub did not
        finish has only a placeholder address, and JupyterHub takes the task's own (``get_url``)."""
        status = await super().poll()
        if status is not None or self.server is None or not self.server.ip or self._check_pending:
            return status
        try:
            ip, _port = await self.get_ip_and_port()
        except web.HTTPError:
            return None  # a replacement task without an address yet: looked at again next poll
        if ip != self.server.ip:
            self.log.warning("%s was moved by Swarm from %s to %s (a drained node): stopping it", self._log_name, self.server.ip, ip)
            return f"moved by Swarm from {self.server.ip} to {ip}"
        return None

    async def get_ip_and_port(self):
        """The task's address on the user's network: names are cached by the proxy and the hub,
        addresses change at every start."""
        task = await self.get_task()
        for attachment in (task or {}).get("NetworksAttachments") or []:
            network = attachment.get("Network") or {}
            if (network.get("Spec") or {}).get("Name") == self.network_name and attachment.get("Addresses"):
                return attachment["Addresses"][0].split("/", 1)[0], self.port
        raise web.HTTPError(500, "%s", f"The server's task has no address on network {self.network_name}")

    def _docker(self, method, *args, **kwargs):
        result = super()._docker(method, *args, **kwargs)
        if method == "service_logs":  # a stream: read in the executor's thread too
            result = b"".join(result)
        return result

    async def _log_lines(self, tail: int) -> list[str]:
        """The last lines of the service's log (every task, stdout and stderr, in time order)."""
        try:
            log = await self.docker("service_logs", self.service_id, stdout=True, stderr=True, tail=tail, timestamps=True, is_tty=False)
        except APIError:
            return []
        return _in_time_order(log.decode("utf-8", "replace"))

    async def remove_object(self):
        """Removes the service (Swarm stops its task); an absent service is fine."""
        if not self.object_id:
            await self.get_object()  # found by name
        self._removed_service = self.object_id
        if not self.object_id:
            return
        self.log.info("Removing service %s (id: %s)", self.service_name, self.object_id[:7])
        try:
            await self.docker("remove_service", self.object_id)
        except NotFound:
            self.log.debug("Service %s was already removed", self.service_name)
