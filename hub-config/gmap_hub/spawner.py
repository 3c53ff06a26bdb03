"""GmapDockerSpawner: DockerSpawner with the hub's image menu, per-user mounts and start hook.

Everything comes from configuration set by :mod:`gmap_hub.config`:

- ``images`` / ``default_image_name``: the image catalog. With several images DockerSpawner's
  ``allowed_images`` (display name -> image) is set too; this class renders its own Bootstrap 5
  form and accepts a choice given as short name, display name or image reference, rejecting
  anything outside ``allowed_images`` with HTTP 400.
- ``mount_specs``: the settings' mounts. They become DockerSpawner ``mounts`` (docker Mount
  kwargs) per spawner, with ``{username}`` replaced by DockerSpawner's escaped user name;
  per-user volumes carry ``volume_labels`` and, when asked, a driver config (the mount's ``driver``,
  Docker's ``local`` by default) built from ``volume_driver_options`` (the secrets file).
- ``start_hook``: a script run as the notebook user before the server starts. It travels in the
  ``GMAP_START_HOOK`` environment variable (base64) and the image's command is wrapped in a static
  ``sh -c`` script that runs it and fails the start when it fails.

A failing start hook fails the spawn at once, with the hook's last output lines. JupyterHub 5.5
does not watch the container after ``Spawner.start`` returns: ``User._wait_up`` only polls the
server's URL until ``http_timeout``, and the container (``remove=True``: Docker's AutoRemove) and
its log are gone as soon as it exits. So the wrapper reports the hook's outcome in the log, and on
failure keeps the container (sleeping, at most 60 s) so that its log can still be read. ``start``
returns only once the server answers: it asks the server every tenth of a second (JupyterHub's
own wait backs off to seconds between two requests, which would add up to a second or more to each
spawn) and looks at the container every ``start_check_interval`` seconds meanwhile. A failed hook or
a container that stopped raises an HTTPError whose message (``jupyterhub_message``) is the end of
the output, which JupyterHub shows on the spawn-pending page and returns from the API; JupyterHub
then stops and removes the container. The hook's run time counts against ``start_timeout``.

Docker API calls of all spawns share ``docker_threads`` threads (DockerSpawner's own executor has
one, so concurrent spawns queue behind each other's calls); the hub and the proxy join a new
user network concurrently.

Per-user host directories (bind mounts with ``per_user``) are created before the notebook
container: Docker refuses a missing bind source given through the Mounts API (Docker 23+'s
``BindOptions.CreateMountpoint`` would create it, but owned by root with mode 0755), and the hub
sees only the Docker socket, not the host's file system. So at every start a short-lived helper
container of the notebook image (already pulled by ``start``), labelled like the user's
containers, without network, bind-mounts the fixed part of the path (everything before the
directory that holds ``{username}``; it must exist), creates the missing directories below it, and
only those (the escaped user name is [a-z0-9-]; ``.``, ``..`` and empty segments are refused), with
mode 0700, owned by ``NB_UID:NB_GID``, and is removed. Existing directories are left as they are.

Network isolation: every user server has a bridge network of its own,
``network_name_template`` (``<prefix>-u-{username}``, labelled with ``network_labels``), which
holds the server, the hub (under the alias ``hub_alias``, so ``JUPYTERHUB_API_URL`` and the
outside world work as before) and the proxy (which routes to the server's address there:
DockerSpawner's per-spawner ``network_name`` with ``use_internal_ip``). Docker isolates bridge
networks from one another and containers do not forward between their networks, so a server
reaches neither another user's server (by address or by name: names resolve only on shared
networks) nor the proxy's REST API, which listens only on the proxy's address on the stack's main
network (components/containers.ts ``proxyStartScript``), where only the hub and the proxy live.
Alternatives rejected: one shared network with inter-container communication off
(``enable_icc=false``) also cuts the servers off the hub; Docker's ``internal`` networks cut them
off the outside world; firewall rules on the host are outside what the stack manages.

- ``create_object`` creates the network (or reuses it when it carries ``network_labels``, and
  refuses a network of that name that does not) and connects the hub and the proxy, before the
  container, which joins only that network.
- ``poll`` of a running server connects the hub and the proxy again when they are missing: a
  replaced hub (every settings change) or proxy starts on the main network only, and JupyterHub
  polls every running server at start-up (before it checks the server answers) and then every
  ``poll_interval``. A restarted container keeps its networks.
- ``stop`` waits (bounded) until the container is gone (``remove=True``: Docker removes it
  asynchronously), disconnects the hub and the proxy and removes the network; a missing network
  or container is fine, a network that cannot go yet is left for the next start (which reuses it)
  or for ``pulumi destroy`` (components/leftovers.ts removes the stack's user networks by label).

Each network gets a /28 of ``network_pool`` (spawner.networkPool, a /16 by default: 4096 servers
at once), not a range of the Docker daemon's own pools, which give only about 30 networks per host.
The first candidate is the one the network name hashes to, so concurrent spawns rarely try the
same subnet; subnets of existing user networks are skipped, and one another network took meanwhile
(Docker refuses overlapping subnets) moves on to the next candidate.

Swarm mode (``GmapSwarmSpawner``, the settings' ``spawner.swarm``): each server is a Swarm service
with one task, named like the container would be, labelled (the service and its container), run as
root with the same command (start hook wrapper included), environment and mounts. A volume with
driver options gets them with its ``driver`` (a volume plugin may need none); each node creates it
on first use, shared ones too. There are no per-user host directories (the helper would run on the
manager, not where the server runs). The user network is an attachable overlay network: the hub and
the proxy stay plain containers on the manager and join it as above. The service has no virtual IP
(``dnsrr``) and publishes no port; the hub and the proxy reach the task at its address on the user
network (a service name would be cached across restarts). Placement: ``constraints`` plus the
chosen image's ``image_constraints``; reservations equal the limits unless guarantees are set, so
that Swarm places servers by free capacity. The restart policy is ``none``: a server that ended is
reported stopped instead of restarted. ``start`` waits for the task to run: a task that ended fails
the spawn with Swarm's reason and the end of the service's log, one that no node takes (constraints
that match no node, a missing volume plugin, no capacity left) fails it after ``placement_timeout``
seconds with Swarm's reason; then it waits for the server as above, reading the service's log
(in time order: Swarm delivers stdout and stderr out of order). ``stop`` removes the service and
waits (``network_removal_timeout``) until its task is gone before it removes the network. The
Swarm manager accepts an overlay network whose subnet overlaps another one and leaves it without
addresses: such a network is removed and the next candidate tried.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import inspect
import ipaddress
import logging
import re
from concurrent.futures import ThreadPoolExecutor

from docker.errors import APIError, NotFound
from docker.types import ContainerSpec, DriverConfig, EndpointSpec, IPAMConfig, IPAMPool, Placement, Resources, RestartPolicy, TaskTemplate
from dockerspawner import DockerSpawner, SwarmSpawner
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient
from traitlets import Dict, Float, Integer, List, Unicode, default

from .forms import image_options_form

#: Environment variable that carries the start hook (base64) into the container.
START_HOOK_ENV = "GMAP_START_HOOK"

#: Log lines the wrapper writes when the hook starts, succeeded and failed.
HOOK_STARTED = "gmap-start: running the start hook"
HOOK_SUCCEEDED = "gmap-start: the start hook succeeded"
HOOK_FAILED = "gmap-start: the start hook failed"
#: Log lines searched for the hook's outcome at each poll (the server's start-up output may
#: follow the success line), and the last lines of the hook's output shown on failure.
HOOK_SCAN_LINES = 1000
HOOK_ERROR_LINES = 20
HOOK_ERROR_LINE_CHARS = 300
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: Where the helper container that creates per-user host directories sees their fixed parent.
HOST_DIR_MOUNT = "/gmap-host"
#: The helper's command (``sh -c MKDIR_SCRIPT gmap-mkdir PARENT UID:GID DIR...``, as root): creates
#: each DIR (relative to PARENT, parents first) that does not exist, mode 0700, owned by UID:GID.
MKDIR_SCRIPT = r"""set -eu
cd "$1"
owner="$2"
shift 2
for dir in "$@"; do
  if [ ! -e "$dir" ] && [ ! -L "$dir" ]; then
    mkdir -m 0700 "$dir"
    chown "$owner" "$dir"
  fi
done
"""

#: The command wrapper (``sh -c WRAPPER gmap-start CMD...``): runs the hook, then execs CMD.
#: Under docker-stacks' start.sh (the images' ENTRYPOINT) CMD runs as the notebook user, after the
#: ownership fixes, so the hook does too. The hook's outcome is logged for ``start`` (see above).
START_HOOK_WRAPPER = r"""set -eu
if [ -z "${GMAP_START_HOOK:-}" ]; then
  echo "$0: GMAP_START_HOOK is empty; refusing to start without the start hook" >&2
  exit 1
fi
hook="$(mktemp "${TMPDIR:-/tmp}/gmap-start-hook.XXXXXX")"
printf '%s' "$GMAP_START_HOOK" | base64 -d > "$hook"
chmod 0700 "$hook"
unset GMAP_START_HOOK
echo "$0: running the start hook as uid $(id -u)" >&2
"$hook" || {
  status=$?
  rm -f "$hook"
  echo "$0: the start hook failed with exit status $status; not starting the server" >&2
  sleep 60  # until the hub, which reads this log, stops the container
  exit "$status"
}
rm -f "$hook"
echo "$0: the start hook succeeded; starting the server" >&2
exec "$@"
"""


class HideShareCredentials(logging.Filter):
    """Hides the credentials of network-share mount options (``password=...``) in log records:
    DockerSpawner logs each container's host config, mounts and their driver options included, at
    DEBUG."""

    _credential = re.compile(r"((?:password|pass|credentials)=)[^,'\"\s}]*", re.IGNORECASE)

    @classmethod
    def hide(cls, text: str) -> str:
        return cls._credential.sub(r"\1[hidden]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = self.hide(message)
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


class GmapDockerSpawner(DockerSpawner):
    """DockerSpawner configured from the hub's settings (see module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not any(isinstance(f, HideShareCredentials) for f in self.log.filters):
            self.log.addFilter(HideShareCredentials())

    _gmap_executor = None

    @property
    def executor(self):
        """One executor for the Docker API calls of every spawn, with ``docker_threads`` threads
        (DockerSpawner's single thread makes concurrent spawns wait for each other's calls)."""
        cls = GmapDockerSpawner
        if cls._gmap_executor is None:
            cls._gmap_executor = ThreadPoolExecutor(self.docker_threads, thread_name_prefix="gmap-docker")
        return cls._gmap_executor

    images = List(
        Dict(),
        config=True,
        help='Image catalog: [{"name": short name, "displayName": label, "image": reference}].',
    )
    default_image_name = Unicode("", config=True, help="Short name of the image preselected in the options form.")
    mount_specs = List(
        Dict(),
        config=True,
        help=(
            "Mounts of every notebook container: dicts with name, type (volume|bind), source, target,"
            " read_only, per_user, driver_options. {username} becomes the escaped user name."
        ),
    )
    volume_labels = Dict(Unicode(), config=True, help="Labels put on the per-user volumes Docker creates on first use.")
    volume_driver_options = Dict(
        Dict(),
        config=True,
        help="Volume driver options per mount name (mounts with driver_options); {username} is substituted.",
    )
    start_hook = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Shell script run as the notebook user in the container before the server starts.",
    )
    start_check_interval = Float(1.0, config=True, help="Seconds between two looks at the container (and the start hook's outcome) while the server starts.")
    ready_poll_interval = Float(0.1, config=True, help="Seconds between two requests to a starting server.")
    docker_threads = Integer(8, config=True, help="Threads for Docker API calls, shared by every spawn (DockerSpawner's own default is 1: spawns queue).")
    network_name_template = Unicode("", config=True, help="Name of each server's own network; {username} becomes the escaped user name.")
    network_labels = Dict(Unicode(), config=True, help="Labels of the per-user networks.")
    network_pool = Unicode("", config=True, help="IPv4 range the per-user networks take a /28 each from (empty: Docker's pools).")
    network_subnet_tries = Integer(32, config=True, help="Free subnets tried before a spawn fails for want of one.")
    hub_container = Unicode("", config=True, help="Name of the hub's container, connected to each user network.")
    hub_alias = Unicode("hub", config=True, help="The hub's alias on each user network (the servers' hub_connect_ip).")
    proxy_container = Unicode("", config=True, help="Name of the proxy's container, connected to each user network.")
    network_removal_timeout = Integer(30, config=True, help="Seconds stop waits for the container to be gone before it removes the network.")
    network_removal_poll_interval = Float(0.5, config=True, help="Seconds between two looks at the stopping container.")

    # -- mounts -----------------------------------------------------------------------------------
    def _substitute_user(self, template: str) -> str:
        return template.replace("{username}", self.escaped_name)

    def _literal(self, text: str) -> str:
        # DockerSpawner formats Mount source/target with str.format (format_volume_name):
        # double the remaining braces so the already substituted value comes out unchanged.
        return text.replace("{", "{{").replace("}", "}}")

    def mount_kwargs(self, spec: dict) -> dict:
        """The docker Mount kwargs of one mount spec for this spawner's user."""
        kwargs = {
            "type": spec["type"],
            "source": self._literal(self._substitute_user(spec["source"])),
            "target": self._literal(self._substitute_user(spec["target"])),
            "read_only": bool(spec["read_only"]),
        }
        if spec["type"] == "volume" and spec["per_user"] and self.volume_labels:
            kwargs["labels"] = dict(self.volume_labels)
        if spec["type"] == "volume" and spec["driver_options"]:
            # the volume driver ("local": NFS/CIFS shares) creates the volume from these options on first
            # use; a volume plugin may need none
            driver = spec.get("driver") or "local"
            options = self.volume_driver_options.get(spec["name"])
            if options is None or (not options and driver == "local"):
                raise ValueError(f"mount {spec['name']!r} needs volume driver options, but none are configured")
            kwargs["driver_config"] = DriverConfig(driver, {k: self._substitute_user(v) for k, v in options.items()})
        return kwargs

    @default("mounts")
    def _default_mounts(self):
        return [self.mount_kwargs(spec) for spec in self.mount_specs]

    def host_dirs(self) -> list[tuple[str, list[str]]]:
        """The per-user host directories of this spawner's user: (fixed parent, the directories
        below it from the one holding {username} down, relative to the parent) per bind mount."""
        found = []
        for spec in self.mount_specs:
            source = spec["source"]
            if spec["type"] != "bind" or not spec["per_user"] or "{username}" not in source:
                continue
            cut = source.rfind("/", 0, source.index("{username}"))
            parts = self._substitute_user(source[cut + 1 :]).split("/")
            if cut <= 0 or any(part in ("", ".", "..") for part in parts):
                raise ValueError(f"mount {spec['name']!r}: cannot create {source} below a fixed directory")
            found.append((source[:cut], ["/".join(parts[: i + 1]) for i in range(len(parts))]))
        return found

    async def create_host_dirs(self):
        """Creates the missing per-user host directories with a helper container (see module docstring)."""
        owner = f"{self.environment['NB_UID']}:{self.environment['NB_GID']}"
        for parent, dirs in self.host_dirs():
            helper = await self.docker(
                "create_container",
                image=self.image,
                entrypoint=["sh", "-c", MKDIR_SCRIPT, "gmap-mkdir"],
                command=[HOST_DIR_MOUNT, owner, *dirs],
                user="0:0",
                labels=dict(self.extra_create_kwargs.get("labels", {})),
                network_disabled=True,
                host_config={
                    "Mounts": [{"Type": "bind", "Source": parent, "Target": HOST_DIR_MOUNT, "ReadOnly": False}],
                    "NetworkMode": "none",
                },
            )
            try:
                await self.docker("start", helper["Id"])
                result = await self.docker("wait", helper["Id"], timeout=60)
                if result["StatusCode"] != 0:
                    log = await self.docker("logs", helper["Id"], tail=HOOK_ERROR_LINES)
                    output = _CONTROL.sub(" ", log.decode("utf-8", "replace"))[-1000:].strip()
                    raise web.HTTPError(500, "%s", f"Could not create {parent}/{dirs[-1]} on the Docker host: {output}")
            finally:
                await self.docker("remove_container", helper["Id"], force=True)

    async def create_object(self):
        """Creates the user's network and missing host directories, then DockerSpawner's container,
        on that network only. The hub and the proxy join the network meanwhile (``start`` waits for
        them before it returns: the server needs neither before it runs)."""
        await self.create_network()
        try:
            await self.create_host_dirs()
            return await self.create_server()
        except BaseException:
            await asyncio.gather(self._members_joined(), return_exceptions=True)
            raise

    async def create_server(self):
        """The server's Docker object: DockerSpawner's container."""
        return await DockerSpawner.create_object(self)

    async def _members_joined(self) -> None:
        """Waits for the hub and the proxy to be on the network (raises if they could not join)."""
        joining, self._joining = getattr(self, "_joining", None), None
        if joining is not None:
            await joining

    # -- network isolation ------------------------------------------------------------------------
    @default("network_name")
    def _default_network_name(self):
        if not self.network_name_template:
            return "bridge"  # DockerSpawner's default; the hub's settings always give a template
        return self._substitute_user(self.network_name_template)

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

    async def _subnets(self) -> list:
        """Candidate subnets of ``network_pool``: the name's hashed position first, used ones skipped."""
        pool = ipaddress.ip_network(self.network_pool)
        labels = [f"{k}={v}" for k, v in sorted(self.network_labels.items())]
        used = {
            config.get("Subnet")
            for network in await self.docker("networks", filters={"label": labels})
            for config in ((network.get("IPAM") or {}).get("Config") or [])
        }
        subnets = list(pool.subnets(new_prefix=28))
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

    async def poll(self):
        """DockerSpawner's poll; while the server runs, also keeps hub and proxy on its network."""
        status = await super().poll()
        if status is None:
            await self.reconnect_network()
        return status

    async def stop(self, now=False):
        """DockerSpawner's stop (the container goes), then the server's network goes."""
        await super().stop(now)
        await self.remove_network()

    async def _subnet_allocated(self, network_id: str, subnet) -> bool:
        """Whether a network just created holds its subnet (Docker refuses a bridge network's
        overlapping subnet at once)."""
        return True

    async def _server_gone(self) -> bool:
        """Whether the stopped server has left its network: its container is gone."""
        try:
            await self.docker("inspect_container", self.object_name)
        except NotFound:
            return True
        return False

    async def remove_network(self) -> None:
        """Removes this server's network once its container is gone (see module docstring)."""
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

    # -- image choice -----------------------------------------------------------------------------
    @default("options_form")
    def _default_options_form(self):
        if len(self.images) <= 1:
            return ""
        offered = set(self._offered_images().values())
        return image_options_form([entry for entry in self.images if entry["image"] in offered], self.default_image_name)

    def _offered_images(self) -> dict:
        """Every accepted spelling of a choice (display name, short name, reference) -> image."""
        allowed = self._get_allowed_images() or {}
        if allowed:
            catalog = [entry for entry in self.images if entry["image"] in allowed.values()]
        else:
            # a single image: no menu, but naming that image is harmless
            catalog = [entry for entry in self.images if entry["image"] == self.image]
        aliases = dict(allowed)
        for entry in catalog:
            for alias in (entry["image"], entry["name"], entry["displayName"]):
                aliases.setdefault(alias, entry["image"])
        for image in allowed.values():
            aliases.setdefault(image, image)
        return aliases

    async def check_allowed(self, image):
        """Resolves a requested image to an allowed image reference or raises HTTP 400."""
        if self._get_allowed_images() == "*":
            return await super().check_allowed(image)
        offered = self._offered_images()
        if not isinstance(image, str):
            raise web.HTTPError(400, "The image choice must be a string")
        if image not in offered:
            labels = [e["displayName"] for e in self.images if e["image"] in set(offered.values())]
            raise web.HTTPError(
                400,
                f"Image {image!r} is not offered on this hub. Choose one of: {', '.join(labels)}.",
            )
        return offered[image]

    @default("apply_user_options")
    def _default_apply_user_options(self):
        async def validate_image_choice(spawner, user_options):
            # checked before the start so a bad choice is reported on the form;
            # DockerSpawner.start applies it
            if "image" in user_options:
                await spawner.check_allowed(user_options["image"])

        return validate_image_choice

    # -- start hook -------------------------------------------------------------------------------
    def get_env(self):
        env = super().get_env()
        if self.start_hook:
            env[START_HOOK_ENV] = base64.b64encode(self.start_hook.encode("utf-8")).decode("ascii")
        return env

    async def get_command(self):
        """DockerSpawner's command (``Spawner.cmd`` or the image's Cmd, plus args), wrapped when a
        start hook is configured."""
        cmd = await super().get_command()
        if not self.start_hook:
            return cmd
        return ["sh", "-c", START_HOOK_WRAPPER, "gmap-start", *cmd]

    async def start(self):
        """DockerSpawner's start, returning once the server answers (see ``_wait_until_up``)."""
        started = asyncio.get_running_loop().time()
        try:
            address = await super().start()
        except BaseException:
            await asyncio.gather(self._members_joined(), return_exceptions=True)
            raise
        await self._members_joined()
        await self._wait_until_up(address, started)
        return address

    async def _answers(self, url: str) -> bool:
        """True when the server answers HTTP at all (as JupyterHub's own wait counts it)."""
        try:
            await AsyncHTTPClient().fetch(url, request_timeout=2, raise_error=False, follow_redirects=False)
            return True
        except Exception:
            return False

    async def _wait_until_up(self, address: tuple[str, int], started: float) -> None:
        """Waits for the server to answer, asking it every ``ready_poll_interval`` seconds, and looks at
        the container every ``start_check_interval`` seconds meanwhile: a start hook that failed,
        or a container that stopped, fails the spawn at once with the end of its output.

        JupyterHub's own wait (``User._wait_up``, after ``start`` returns) backs off to seconds
        between two requests, which adds up to a second or more to a spawn; after this wait its
        first request succeeds. The wait stays within ``start_timeout`` and ``http_timeout``; when
        it gives up, ``start`` returns and JupyterHub's wait goes on as usual. With a start hook, the
        server answering means the hook succeeded (the wrapper starts the server only then).
        """
        ip, port = address
        base_url = self.server.base_url if self.server else f"/user/{self.user.name}/"
        url = f"http://{ip}:{port}{url_path_join(base_url, 'api')}"
        loop = asyncio.get_running_loop()
        deadline = min(started + self.start_timeout - 2, loop.time() + self.http_timeout)
        hook_done = not self.start_hook
        next_look = loop.time() + self.start_check_interval
        while loop.time() < deadline:
            if await self._answers(url):
                return
            if loop.time() >= next_look:
                hook_done = await self._look_at_container(hook_done)
                next_look = loop.time() + self.start_check_interval
            await asyncio.sleep(self.ready_poll_interval)

    async def _look_at_container(self, hook_done: bool) -> bool:
        """Raises the start hook's failure or the container's early exit; returns whether the
        hook is known to have succeeded."""
        lines = []
        if not hook_done:
            lines = await self._log_lines(HOOK_SCAN_LINES)
            outcome = [line for line in lines if line.startswith((HOOK_SUCCEEDED, HOOK_FAILED))]
            if outcome and outcome[-1].startswith(HOOK_FAILED):
                raise self._start_error("The start hook failed", lines)
            hook_done = bool(outcome)
        stopped = await self._stopped()
        if stopped:
            lines = await self._log_lines(HOOK_SCAN_LINES)
            what = "the start hook finished" if not hook_done else "it answered"
            raise self._start_error(f"{stopped} before {what}", lines)
        return hook_done

    async def _stopped(self) -> str | None:
        """What ended the server ("The server's container stopped"), None while it runs."""
        if await DockerSpawner.poll(self) is not None:
            return "The server's container stopped"
        return None

    async def _log_lines(self, tail: int) -> list[str]:
        """The last lines of the container's log (stdout and stderr); none once it is gone."""
        try:
            log = await self.docker("logs", self.container_id, stdout=True, stderr=True, tail=tail)
        except APIError:
            return []
        return log.decode("utf-8", "replace").splitlines()

    def _start_error(self, summary: str, lines: list[str] | None) -> web.HTTPError:
        """The spawn failure users see: the last lines logged since the hook started, without
        control characters or the server's API token, each line and their number bounded (None:
        the server never ran, the summary says all)."""
        if lines is None:
            message = f"{summary}."
            error = web.HTTPError(500, "%s", message)
            error.jupyterhub_message = message
            error.jupyterhub_html_message = html.escape(message)
            return error
        started = [i for i, line in enumerate(lines) if line.startswith(HOOK_STARTED)]
        if started:
            lines = lines[started[-1] + 1 :]
        shown = []
        for line in lines:
            line = _CONTROL.sub(" ", _ANSI.sub("", line))
            if self.api_token:
                line = line.replace(self.api_token, "[hidden]")
            line = line.strip()[:HOOK_ERROR_LINE_CHARS]
            if line:
                shown.append(line)
        output = "\n".join(shown[-HOOK_ERROR_LINES:])
        message = f"{summary}. Its last output:\n{output}" if output else f"{summary} without output."
        error = web.HTTPError(500, "%s", message)
        error.jupyterhub_message = message
        error.jupyterhub_html_message = f"<p>{html.escape(summary)}. Its last output:</p><pre>{html.escape(output)}</pre>" if output else html.escape(message)
        return error


#: Swarm task states before the task runs (``start_object`` waits), and the ones a task that has not
#: been placed on a node yet is in (bounded by ``placement_timeout``).
TASK_STARTING = {"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"}
TASK_UNPLACED = {"new", "allocated", "pending"}
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
    """GmapDockerSpawner whose servers are Docker Swarm services (see module docstring)."""

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

    _removed_service = None

    # -- mounts -----------------------------------------------------------------------------------
    def _refuse_per_user_binds(self) -> None:
        for spec in self.mount_specs:
            if spec["type"] == "bind" and spec["per_user"]:
                raise ValueError(
                    f"mount {spec['name']!r}: per-user host directories are not available with Docker Swarm (servers run on any node); use a volume"
                )

    @property
    def mounts(self):
        """The mount kwargs of every spec (SwarmSpawner's own mounts know only ``volume_binds``)."""
        self._refuse_per_user_binds()
        return [self.mount_kwargs(spec) for spec in self.mount_specs]

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
    def _image_name(self) -> str | None:
        """The short name of the image the server runs (``images``), None for another image."""
        return next((entry["name"] for entry in self.images if entry["image"] == self.image), None)

    async def create_server(self):
        """One service with one task: the container DockerSpawner would create (command, environment,
        user, labels, mounts), on the user's network only, placed by the constraints and the limits
        (reservations default to the limits, so that Swarm places servers by free capacity), never
        restarted (a server that ended is reported stopped), without published ports or virtual IP."""
        extra = self._eval_if_callable(self.extra_create_kwargs)
        if inspect.isawaitable(extra):
            extra = await extra
        extra = dict(self._render_templates(extra))
        labels = dict(extra.pop("labels", None) or {})
        container = {
            "image": self.image,
            "args": await self.get_command(),
            "env": self.get_env(),
            "user": extra.pop("user", None),
            "labels": labels,
            "mounts": self.mount_binds,
        }
        container.update(self.extra_container_spec)

        nano_cpus = lambda cpus: int(cpus * 1e9) if cpus else None  # noqa: E731
        resources = {
            "mem_limit": self.mem_limit or None,
            "cpu_limit": nano_cpus(self.cpu_limit),
            "mem_reservation": self.mem_guarantee or self.mem_limit or None,
            "cpu_reservation": nano_cpus(self.cpu_guarantee) or nano_cpus(self.cpu_limit),
        }
        resources.update(self.extra_resources_spec)
        placement = {"constraints": [*self.constraints, *self.image_constraints.get(self._image_name(), [])]}
        placement.update(self.extra_placement_spec)

        task = {
            "container_spec": ContainerSpec(**container),
            "resources": Resources(**resources),
            "placement": Placement(**placement),
            "restart_policy": RestartPolicy(condition="none"),
            "networks": [self.network_name],
        }
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
        files (they live on the network)."""
        status = await super().poll()
        if status is not None or self.server is None or not self.server.ip:
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
