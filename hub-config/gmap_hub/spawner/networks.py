"""Each user server's own network, shared only with the hub and the proxy: created (with a subnet of
the pool) before the server, kept connected while it runs, removed after it stops
(docs/architecture.md, "Network isolation")."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress

from docker.errors import APIError, NotFound
from docker.types import IPAMConfig, IPAMPool
from tornado import web
from traitlets import Dict, Float, HasTraits, Integer, Unicode, default


class NetworksMixin(HasTraits):
    """The per-user network's lifecycle: ``create_network`` (then ``_members_joined``) before the
    server, ``reconnect_network`` while it runs, ``remove_network`` after it stopped."""

    network_name_template = Unicode(
        "", config=True, help="Name of each server's own network; {username} becomes the escaped user name (named servers: ServerNamesMixin)."
    )
    network_labels = Dict(Unicode(), config=True, help="Labels of the per-user networks.")
    network_pool = Unicode("", config=True, help="IPv4 range the per-user networks take a subnet each from (empty: Docker's pools).")
    network_prefix_length = Integer(
        0,
        config=True,
        help="Prefix length of each per-user network's subnet of network_pool (settings.json: spawner.networkPrefixLength); required with a pool.",
    )
    network_subnet_tries = Integer(32, config=True, help="Free subnets tried before a spawn fails for want of one.")
    hub_container = Unicode("", config=True, help="Name of the hub's container, connected to each user network.")
    hub_alias = Unicode("hub", config=True, help="The hub's alias on each user network (the servers' hub_connect_ip).")
    proxy_container = Unicode("", config=True, help="Name of the proxy's container, connected to each user network.")
    network_removal_timeout = Integer(30, config=True, help="Seconds stop waits for the container to be gone before it removes the network.")
    network_removal_poll_interval = Float(0.5, config=True, help="Seconds between two looks at the stopping container.")

    _joining = None

    @default("network_name")
    def _default_network_name(self):
        if not self.network_name_template:
            return "bridge"  # DockerSpawner's default; the hub's settings always give a template
        return self.server_template(self.network_name_template, self.named_network_template)

    def _members(self) -> list[tuple[str, list[str]]]:
        """The containers that join every user network, with their aliases there."""
        members = []
        if self.hub_container:
            members.append((self.hub_container, [self.hub_alias] if self.hub_alias else []))
        if self.proxy_container:
            members.append((self.proxy_container, []))
        return members

    async def _inspect_network(self):
        try:
            network = await self.docker("inspect_network", self.network_name)
        except NotFound:
            return None
        if network.get("Name") != self.network_name:
            return None
        return network

    def _is_ours(self, network) -> bool:
        labels = network.get("Labels") or {}
        return all(labels.get(k) == v for k, v in self.network_labels.items())

    def _check_network_owner(self, network) -> None:
        if not self._is_ours(network):
            raise web.HTTPError(500, "%s", f"Docker network {self.network_name} exists but was not made by this hub; not using it")

    # -- creation ---------------------------------------------------------------------------------
    async def create_network(self):
        """Creates this server's network (or reuses the hub's own one) and starts connecting the hub and
        the proxy to it (``_members_joined`` waits for them)."""
        network = await self._inspect_network()
        if network is None:
            self.log.info("Creating network %s for %s", self.network_name, self._log_name)
            await self._create_network()
            network = await self._inspect_network()
            if network is None:
                raise web.HTTPError(500, "%s", f"Docker network {self.network_name} could not be created")
        self._check_network_owner(network)
        self._joining = asyncio.ensure_future(self._connect_members(network))

    async def _members_joined(self) -> None:
        """Waits for the hub and the proxy to be on the network (raises if they could not join)."""
        joining, self._joining = self._joining, None
        if joining is not None:
            await joining

    async def _subnets(self) -> list:
        """Candidate subnets of ``network_pool``: the name's hashed position first (concurrent spawns
        rarely try the same one), those of existing user networks skipped."""
        if not self.network_prefix_length:
            raise web.HTTPError(500, "%s", "GmapDockerSpawner.network_prefix_length is not set: the user networks' subnet size is unknown")
        pool = ipaddress.ip_network(self.network_pool)
        labels = [f"{k}={v}" for k, v in sorted(self.network_labels.items())]
        used = {
            config.get("Subnet")
            for network in await self.docker("networks", filters={"label": labels})
            for config in ((network.get("IPAM") or {}).get("Config") or [])
        }
        subnets = list(pool.subnets(new_prefix=self.network_prefix_length))
        start = int(hashlib.sha256(self.network_name.encode()).hexdigest(), 16) % len(subnets)
        return [s for s in subnets[start:] + subnets[:start] if str(s) not in used]

    def network_options(self) -> dict:
        """Docker's create_network arguments of the user networks, besides name and subnet."""
        return {"driver": "bridge", "labels": dict(self.network_labels)}

    async def _create_network(self) -> None:
        create = self.network_options()
        candidates = await self._subnets() if self.network_pool else [None]
        for subnet in candidates[: self.network_subnet_tries]:
            if subnet is not None:
                create["ipam"] = IPAMConfig(pool_configs=[IPAMPool(subnet=str(subnet))])
            try:
                created = await self.docker("create_network", self.network_name, **create)
            except APIError as e:
                if e.status_code == 409:  # created meanwhile: checked by the caller
                    return
                if subnet is None or "overlap" not in str(e).lower():
                    raise
                self.log.debug("Subnet %s is taken; trying the next one for %s", subnet, self.network_name)
                continue
            if subnet is None or await self._subnet_allocated(created["Id"], subnet):
                return
            self.log.debug("Subnet %s is taken; trying the next one for %s", subnet, self.network_name)
        raise web.HTTPError(500, "%s", f"no free subnet for {self.network_name} in {self.network_pool}: widen spawner.networkPool")

    async def _subnet_allocated(self, network_id: str, subnet) -> bool:
        """Whether a network just created holds its subnet (Docker refuses a bridge network's
        overlapping subnet at once)."""
        return True

    # -- members ----------------------------------------------------------------------------------
    async def _connect_members(self, network) -> None:
        present = {c.get("Name") for c in (network.get("Containers") or {}).values()}

        async def connect(name: str, aliases: list[str]) -> None:
            self.log.info("Connecting %s to network %s", name, self.network_name)
            try:
                await self.docker("connect_container_to_network", name, network["Id"], aliases=aliases or None)
            except APIError as e:
                # already connected (a concurrent poll, or a stopped container that keeps it): fine
                message = str(e).lower()
                already = "already" in message or "exists" in message
                if e.status_code not in (403, 409) or not already:
                    raise

        await asyncio.gather(*(connect(name, aliases) for name, aliases in self._members() if name not in present))

    async def reconnect_network(self) -> None:
        """Connects the hub and the proxy to this running server's network where they are missing
        (a replaced hub or proxy); never raises: a running server stays running."""
        try:
            network = await self._inspect_network()
            if network is None:
                self.log.warning("%s runs without its network %s", self._log_name, self.network_name)
                return
            self._check_network_owner(network)
            await self._connect_members(network)
        except Exception:
            self.log.exception("Could not connect hub and proxy to network %s", self.network_name)

    # -- removal ----------------------------------------------------------------------------------
    async def _server_gone(self) -> bool:
        """Whether the stopped server has left its network: its container is gone."""
        try:
            await self.docker("inspect_container", self.object_name)
        except NotFound:
            return True
        return False

    async def remove_network(self) -> None:
        """Removes this server's network once the server is gone (bounded by ``network_removal_timeout``;
        a network that cannot go yet is left for the next start, which reuses it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.network_removal_timeout
        while not await self._server_gone():
            if loop.time() >= deadline:
                self.log.warning(
                    "%s %s is still there; network %s is left for the next start",
                    self.object_type.title(),
                    self.object_name,
                    self.network_name,
                )
                return
            await asyncio.sleep(self.network_removal_poll_interval)
        network = await self._inspect_network()
        if network is None:
            return
        if not self._is_ours(network):
            return  # not ours: never touched
        for container in (network.get("Containers") or {}).values():
            name = container.get("Name")
            try:
                await self.docker("disconnect_container_from_network", name, network["Id"], force=True)
            except NotFound:
                pass
            except APIError as e:
                self.log.warning("Could not disconnect %s from network %s: %s", name, self.network_name, e)
        try:
            await self.docker("remove_network", network["Id"])
            self.log.info("Removed network %s", self.network_name)
        except NotFound:
            pass
        except APIError as e:
            self.log.warning("Network %s is left for the next start: %s", self.network_name, e)
