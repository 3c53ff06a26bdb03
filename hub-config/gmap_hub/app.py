"""GmapHub: JupyterHub, which also

- removes what an earlier hub's crash left of interrupted spawns (gmap_hub.leftovers) once it knows
  which servers still run;
- keeps a reserve of free space on its data volume (gmap_hub.data_space): below it, changes are
  refused with a clear answer (gmap_hub.write_guard) instead of being left half-done, and when space
  is back, servers that ended meanwhile without the hub being able to save it are recorded as
  stopped;
- holds the host's ceiling (gmap_hub.ceiling): a spawn over the running-server limit or the memory
  budget, or with a size the user may not have, is refused before it begins; admins see the usage;
- keeps the groups of the stack config exactly as written (gmap_hub.groups);
- serves the monitoring's dashboards to admins (gmap_hub.monitoring.dashboards), with monitoring on;
- checks at its start the quotas of per-user directories, applying their limits
  (gmap_hub.spawner.quota), and that the engine bounds the servers' writable layer as configured
  (gmap_hub.spawner.layer).

The hub image starts it (``python3 -m gmap_hub.app -f jupyterhub_config.py``) in place of the
``jupyterhub`` command."""

from __future__ import annotations

import asyncio
import time

from jupyterhub.app import JupyterHub
from jupyterhub.handlers.base import BaseHandler
from jupyterhub.utils import url_path_join
from tornado.ioloop import PeriodicCallback
from traitlets import Integer, List, Unicode

from .ceiling import Ceiling, CeilingGuard, UsageAPIHandler, UsagePageHandler
from .data_space import DataSpace, MiB
from .groups import OwnedGroupsGuard, prune_groups
from .leftovers import remove_hub_leftovers
from .spawner.layer import check_writable_layer
from .spawner.quota import QuotaUsage, apply_quotas
from .write_guard import WriteGuard

#: When this hub process started: objects made later belong to spawns of this hub.
STARTED = time.time()


class GmapHub(JupyterHub):
    """JupyterHub with the leftovers of interrupted spawns removed at start and a reserve of space."""

    data_dir = Unicode(
        "",
        config=True,
        help="Mount point of the hub-data volume (settings.json: hub.dataDir); default: the working directory (JupyterHub's default SQLite file).",
    )
    data_reserve_mib = Integer(
        64,
        min=0,
        config=True,
        help="Free space (MiB) kept on the hub-data volume; below it changes are refused (settings.json: hub.dataReserveMiB).",
    )

    max_servers = Integer(0, min=0, config=True, help="Servers running or starting at once, at most; 0: no limit (settings.json: spawner.maxServers).")
    memory_budget = Unicode(
        None,
        allow_none=True,
        config=True,
        help="The most the running servers' memory limits may add up to, e.g. 56G; None: no budget (settings.json: spawner.memoryBudget).",
    )

    dashboard_handlers = List(
        [],
        config=True,
        help="The monitoring's dashboards: tornado handlers (path under the hub's prefix, class, arguments); none without monitoring.",
    )

    data_space: DataSpace | None = None
    quota_usage: QuotaUsage | None = None
    _space_check: PeriodicCallback | None = None

    async def initialize(self, *args, **kwargs):
        await super().initialize(*args, **kwargs)
        # a bound the engine or the file system cannot hold stops the hub here, saying why
        await check_writable_layer(self)
        await apply_quotas(self)

    async def init_spawners(self):
        initialized = await super().init_spawners()
        await remove_hub_leftovers(self, STARTED)
        return initialized

    async def init_groups(self):
        await super().init_groups()
        prune_groups(self.db, self.load_groups, self.log)

    def init_tornado_settings(self):
        # each user's page shows their directories' usage against their quota (templates/home.html)
        targets = {spec["name"]: spec["target"] for spec in self.config.GmapDockerSpawner.get("mount_specs", [])}
        self.quota_usage = QuotaUsage(self, targets)
        self.template_vars = {**self.template_vars, "gmap_quotas": self.quota_usage.of}
        super().init_tornado_settings()

    def init_handlers(self):
        super().init_handlers()
        self.data_space = DataSpace(self.data_dir or ".", self.data_reserve_mib * MiB, self.log)
        self.data_space.on_space_back(lambda: asyncio.ensure_future(self.settle_stopped_servers()))
        ceiling = Ceiling(self.max_servers, self.memory_budget, self.concurrent_spawn_limit)
        usage = [
            (url_path_join(self.hub_prefix, "usage"), UsagePageHandler),
            (url_path_join(self.hub_prefix, "api/usage"), UsageAPIHandler),
            *((url_path_join(self.hub_prefix, path), *rest) for path, *rest in self.dashboard_handlers),
        ]
        # ahead of JupyterHub's catch-all handlers
        self.handlers = mixed_in(
            usage + self.handlers,
            (WriteGuard, CeilingGuard, OwnedGroupsGuard),
            data_space=self.data_space,
            ceiling=ceiling,
            quota_usage=staticmethod(self.quota_usage.all),
            owned_groups=frozenset(self.load_groups),
        )

    async def start(self):
        await super().start()
        if self.data_space is not None:
            self.data_space.check()
            self._space_check = PeriodicCallback(self.data_space.check, 1e3 * DataSpace.interval)
            self._space_check.start()

    async def settle_stopped_servers(self) -> None:
        """Records as stopped the servers that JupyterHub thinks run but whose container has ended:
        a stop, or a server's end, that the hub could not save while its disk was full."""
        for user in list(self.users.values()):
            for name, spawner in list(user.spawners.items()):
                if not spawner.active or spawner.pending:
                    continue
                try:
                    if await spawner.poll() is None:
                        continue
                    self.log.warning("The server %s of %s ended while the hub could not save it; recorded as stopped", name or "(default)", user.name)
                    await self.proxy.delete_user(user, name)
                    await user.stop(name)
                except Exception:  # noqa: BLE001 - one server's failure leaves the others to settle
                    self.log.exception("Could not settle the server %s of %s", name or "(default)", user.name)


def mixed_in(handlers: list[tuple], mixins: tuple[type, ...], **attributes) -> list[tuple]:
    """The hub's handler list (``(pattern, class[, kwargs])``) with every hub handler given the mixins
    (ahead of its own methods) and the class attributes they read."""
    mixed = []
    for pattern, handler, *rest in handlers:
        if isinstance(handler, type) and issubclass(handler, BaseHandler):
            handler = type(handler.__name__, (*mixins, handler), {**attributes, "__module__": handler.__module__})
        mixed.append((pattern, handler, *rest))
    return mixed


main = GmapHub.launch_instance

if __name__ == "__main__":
    main()
