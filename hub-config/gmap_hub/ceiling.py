"""The ceiling of the host: at most ``max_servers`` servers running or starting, and the running
servers' memory limits adding up to at most ``memory_budget``.

Every hub handler that starts servers (the spawn form, the spawn page, the API) is given the
:class:`CeilingGuard` mixin: before a spawn begins it checks the user's choice of image and size
(HTTP 400 with the reason) and the ceiling (HTTP 429 saying which limit and what to do), and refuses
at once; nothing is queued or half-started. An admitted spawn holds its place from the check on
(``Ceiling.reserved``) until JupyterHub counts it as pending, so two requests at once cannot both
take the last place.
Admins see the usage at ``/hub/usage`` (and as JSON at ``/hub/api/usage``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.handlers.base import BaseHandler
from jupyterhub.scopes import needs_scope
from tornado import web

from .spawner.quota import human_bytes
from .spawner.sizes import memory_bytes


def gib(value: int) -> str:
    """Bytes as GiB for people, e.g. 2.5G."""
    return f"{value / 2**30:.3g}G"


@dataclass
class Ceiling:
    """The hub's limits; 0 or None: no limit."""

    max_servers: int = 0
    memory_budget: str | None = None
    concurrent_spawn_limit: int = 0
    #: Spawners admitted whose spawn JupyterHub has not yet marked pending.
    reserved: set = field(default_factory=set)

    @property
    def budget_bytes(self) -> int:
        return memory_bytes(self.memory_budget)

    def servers(self, users) -> list:
        """Every server running or starting (or admitted to start): its spawner."""
        active = [spawner for user in users.values() for spawner in user.spawners.values() if spawner.active]
        return active + [spawner for spawner in self.reserved if spawner not in active]

    def refusal(self, users, size: dict | None, memory: int) -> str | None:
        """Why one more server of ``size`` (``memory`` bytes) may not start now, or None."""
        servers = self.servers(users)
        if self.max_servers and len(servers) >= self.max_servers:
            return (
                f"The hub is full: {len(servers)} servers are running, the most it runs at once (spawner.maxServers). "
                "Try again when someone stops theirs; admins can stop idle servers on the admin page."
            )
        budget = self.budget_bytes
        if budget:
            used = sum(spawner.memory_limit_bytes() for spawner in servers)
            if used + memory > budget:
                what = f"the size {size['displayName']!r}" if size else "a server"
                return (
                    f"The hub has no memory left for {what}: the running servers have {gib(used)} of its {gib(budget)} "
                    f"(spawner.memoryBudget), and {what} needs {gib(memory)}. Choose a smaller size, or try again when someone stops theirs."
                )
        return None

    def usage(self, users) -> dict:
        """What runs against the limits, for admins."""
        servers = self.servers(users)
        rows = []
        for spawner in servers:
            size = spawner.recorded_size()
            rows.append(
                {
                    "user": spawner.user.name,
                    "server": spawner.name,
                    "size": size["name"] if size else None,
                    "image": spawner.image_name_of(spawner.image),
                    "memoryBytes": spawner.memory_limit_bytes(),
                    "pending": spawner.pending,
                }
            )
        return {
            "servers": len(servers),
            "maxServers": self.max_servers or None,
            "starting": sum(1 for s in servers if s.pending),
            "concurrentSpawnLimit": self.concurrent_spawn_limit or None,
            "memoryBytes": sum(r["memoryBytes"] for r in rows),
            "memoryBudgetBytes": self.budget_bytes or None,
            "running": sorted(rows, key=lambda r: (r["user"], r["server"])),
        }


class CeilingGuard:
    """Mixin of a hub handler: a spawn is checked (choice, then ceiling) before it begins."""

    ceiling: Ceiling

    async def spawn_single_user(self, user, server_name="", options=None):
        spawner = user.spawners[server_name]
        if spawner.active:
            return await super().spawn_single_user(user, server_name, options=options)
        if options is None:
            # no choice given: JupyterHub would start with the last options saved; a size or an
            # image those name that is no longer open to the user takes the default instead
            options = spawner.saved_choice(spawner.orm_spawner.user_options or {})
        if not isinstance(options, dict):
            raise web.HTTPError(400, "The server options must be a JSON object")
        image = await spawner.check_allowed(options["image"]) if "image" in options else None
        size = spawner.choose_size(options, image)
        problem = self.ceiling.refusal(self.users, size, spawner.size_memory(size))
        if problem:
            self.log.info("Spawn of %s refused: %s", spawner._log_name, problem)
            raise web.HTTPError(429, problem)
        spawner.admitted_size = size
        # holds the place until JupyterHub counts the spawn as pending (or refuses it)
        self.ceiling.reserved.add(spawner)
        try:
            return await super().spawn_single_user(user, server_name, options=options)
        finally:
            self.ceiling.reserved.discard(spawner)


class UsageAPIHandler(APIHandler):
    """GET /hub/api/usage: the usage against the ceiling and of the directories under a quota, as JSON
    (scope admin:servers)."""

    ceiling: Ceiling
    #: usage and limit of the directories under a quota, by mount and user (gmap_hub.spawner.quota)
    quota_usage: Callable[[], Awaitable[dict]]

    @needs_scope("admin:servers")
    async def get(self):
        self.write(json.dumps({**self.ceiling.usage(self.users), "quotas": await self.quota_usage()}))


class UsagePageHandler(BaseHandler):
    """GET /hub/usage: the usage against the ceiling and the quotas', for admins (scope admin:servers)."""

    ceiling: Ceiling
    quota_usage: Callable[[], Awaitable[dict]]

    @web.authenticated
    @needs_scope("admin:servers")
    async def get(self):
        usage = {**self.ceiling.usage(self.users), "quotas": await self.quota_usage()}
        self.finish(await self.render_template("gmap-usage.html", usage=usage, gib=gib, human_bytes=human_bytes))
