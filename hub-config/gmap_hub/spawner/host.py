"""GmapDockerSpawner: DockerSpawner with the hub's server names, mounts, per-user network, image menu
and start hook (one mixin each), configured from the settings; this module holds the lifecycle
that puts them in order, and the Docker threads every spawn shares."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from dockerspawner import DockerSpawner
from traitlets import Integer

from .images import ImagesMixin
from .logs import hide_share_credentials
from .mounts import MountsMixin
from .networks import NetworksMixin
from .quota import QuotaMixin
from .server_names import ServerNamesMixin
from .sizes import SizesMixin
from .startup import StartupMixin


class GmapDockerSpawner(ServerNamesMixin, MountsMixin, QuotaMixin, NetworksMixin, SizesMixin, ImagesMixin, StartupMixin, DockerSpawner):
    """Each server a container on a network of its own (docs/architecture.md)."""

    docker_threads = Integer(8, config=True, help="Threads for Docker API calls, shared by every spawn (DockerSpawner's own default is 1: spawns queue).")

    _gmap_executor = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hide_share_credentials(self.log)

    @property
    def executor(self):
        """One executor for the Docker API calls of every spawn, with ``docker_threads`` threads
        (DockerSpawner's single thread makes concurrent spawns wait for each other's calls)."""
        cls = GmapDockerSpawner
        if cls._gmap_executor is None:
            cls._gmap_executor = ThreadPoolExecutor(self.docker_threads, thread_name_prefix="gmap-docker")
        return cls._gmap_executor

    async def create_object(self):
        """Creates the user's network, the quotas of their directories and missing host directories,
        then the server, on that network only. The hub and the proxy join the network meanwhile (``start`` waits for them before it
        returns: the server needs neither before it runs)."""
        await self.create_network()
        try:
            await self.limit_directories()
            await self.create_host_dirs()
            return await self.create_server()
        except BaseException:
            await asyncio.gather(self._members_joined(), return_exceptions=True)
            raise

    async def create_server(self):
        """The server's Docker object: DockerSpawner's container, with this user's mounts of now."""
        self.mounts = self.current_mounts()
        return await DockerSpawner.create_object(self)

    async def start(self):
        """DockerSpawner's start, returning once the hub and the proxy are on the network and the
        server answers (``_wait_until_up``)."""
        started = asyncio.get_running_loop().time()
        try:
            address = await super().start()
        except BaseException:
            await asyncio.gather(self._members_joined(), return_exceptions=True)
            raise
        await self._members_joined()
        await self._wait_until_up(address, started)
        return address

    async def poll(self):
        """DockerSpawner's poll; while the server runs, also keeps hub and proxy on its network (a
        replaced hub or proxy starts on the main network only); at the hub's start, a server found
        not running is cleared away (``_forget_interrupted``)."""
        status = await super().poll()
        if status is None:
            await self.reconnect_network()
        elif self._check_pending:
            await self._forget_interrupted()
        return status

    async def _forget_interrupted(self):
        """At the hub's start JupyterHub forgets a server it finds not running without stopping it
        (``User.stop`` stops only running servers): what that server, or a spawn the earlier hub did
        not finish, left on the engine (a container that never ran or has exited, the network) goes
        now, as on a stop, so the user's next start begins clean. The user's files (volumes, host
        directories) are not touched."""
        if self.object_id:
            await self.remove_object()
            self.object_id = ""
        await self.remove_network()

    async def get_url(self):
        """The running server's address on its network. JupyterHub asks at its start for servers that
        run: one whose spawn the earlier hub did not finish has only the placeholder address the
        spawn began with, and is adopted at its real one (or stopped if it does not answer there).
        When the engine cannot say, the recorded address stands (JupyterHub then stops a server that
        does not answer there): an error here would stop the hub's start."""
        try:
            ip, port = await self.get_ip_and_port()
        except Exception as e:  # noqa: BLE001 - see above
            self.log.warning("Could not look up the address of %s: %s; keeping %s", self._log_name, e, self.server.url)
            return self.server.url
        return f"{self.server.proto}://{ip}:{port}{self.server.base_url}"

    async def stop(self, now=False):
        """DockerSpawner's stop (the container goes), then the server's network goes."""
        await super().stop(now)
        await self.remove_network()
