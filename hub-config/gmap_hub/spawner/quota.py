"""The homes' quota (settings.json spawner.homeQuota): each user's home, the per-user directory of the
bind mount named "user", is a Btrfs subvolume with a qgroup limit. The hub sees only the Docker
socket, so a helper container does the file system's part: the hub's own image (it has btrfs-progs),
as root with CAP_SYS_ADMIN (what Btrfs asks for subvolumes and qgroups) and no network, the homes'
fixed parent mounted, running ``home-quota.sh``; it is removed afterwards.

- before each server starts: its home made a subvolume (when missing) and limited (``limit_home``);
- at the hub's start: the file system checked (the hub refuses to start on one that cannot enforce
  the quota, so ``pulumi up`` fails there) and every existing home limited anew, so a raised limit
  holds at once (``apply_home_quotas``);
- for the admins' usage page and each user's home page: every home's usage and limit, measured at
  most once a minute for the users' pages (``HomeUsage``)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import NamedTuple

import docker
from tornado import web
from traitlets import Dict, HasTraits

from .logs import CONTROL

#: Where the helper sees the homes' fixed parent directory.
HOMES_MOUNT = "/gmap-homes"
#: The helper's program (``sh -c QUOTA_SCRIPT gmap-quota HOMES_MOUNT ACTION ARGS...``).
QUOTA_SCRIPT = Path(__file__).with_name("home-quota.sh").read_text(encoding="utf-8")
#: The mount spec of the homes (components/names.ts homeMount).
HOME_MOUNT = "user"


class QuotaError(Exception):
    """The helper failed; the message is what it said."""


def home_location(specs: list[dict]) -> tuple[str, str] | None:
    """(the homes' fixed parent on the host, the per-user directory below it with {username}) of the
    bind mount named "user", or None when the homes are not host directories."""
    spec = next((s for s in specs if s["name"] == HOME_MOUNT), None)
    if spec is None or spec["type"] != "bind" or "{username}" not in spec["source"]:
        return None
    source = spec["source"]
    cut = source.rfind("/", 0, source.index("{username}"))
    return source[:cut], source[cut + 1 :].split("/")[0]


def quota_bytes(quota: dict, groups: set[str]) -> int:
    """A user's limit: the largest of their groups' limits, else the limit of every home."""
    limits = [quota["groups"][g] for g in groups if g in quota["groups"]]
    return max(limits) if limits else quota["bytes"]


async def run_helper(call, image: str, parent: str, args: list[str], labels: dict[str, str]) -> str:
    """Runs home-quota.sh in a helper container (``call``: an async ``(method, *args, **kwargs)`` on
    Docker's API client) and returns its output; QuotaError with its message when it fails."""
    helper = await call(
        "create_container",
        image=image,
        entrypoint=["sh", "-c", QUOTA_SCRIPT, "gmap-quota"],
        command=[HOMES_MOUNT, *args],
        user="0:0",
        labels=dict(labels),
        network_disabled=True,
        host_config={
            "Mounts": [{"Type": "bind", "Source": parent, "Target": HOMES_MOUNT, "ReadOnly": False}],
            "NetworkMode": "none",
            "CapDrop": ["ALL"],
            "CapAdd": ["SYS_ADMIN", "CHOWN", "FOWNER", "DAC_OVERRIDE"],
        },
    )
    try:
        await call("start", helper["Id"])
        result = await call("wait", helper["Id"], timeout=120)
        out = (await call("logs", helper["Id"], stdout=True, stderr=False)).decode("utf-8", "replace")
        if result["StatusCode"] != 0:
            err = (await call("logs", helper["Id"], stdout=False, stderr=True)).decode("utf-8", "replace")
            raise QuotaError(CONTROL.sub(" ", err)[-1000:].strip() or f"the quota helper ended with status {result['StatusCode']}")
        return out
    finally:
        await call("remove_container", helper["Id"], force=True)


class QuotaMixin(HasTraits):
    """``limit_home`` (called by ``create_object`` before the server is created)."""

    home_quota = Dict(None, allow_none=True, config=True, help="settings.json spawner.homeQuota: {filesystem, bytes, groups}; None: no quota.")

    def home_quota_bytes(self) -> int:
        return quota_bytes(self.home_quota, {g.name for g in self.user.groups})

    def home_dir(self) -> tuple[str, str] | None:
        """(the homes' fixed parent, this user's home directory below it)."""
        location = home_location(self.mount_specs)
        return location and (location[0], self._substitute_user(location[1]))

    async def helper_image(self) -> str:
        """The hub's own image (by id), which has btrfs-progs."""
        return (await self.docker("inspect_container", self.hub_container))["Image"]

    async def limit_home(self):
        """Makes the user's home a subvolume (when missing) and sets its limit, before the server starts."""
        location = self.home_dir() if self.home_quota else None
        if location is None:
            return
        parent, home = location
        owner = f"{self.environment['NB_UID']}:{self.environment['NB_GID']}"
        labels = self.extra_create_kwargs.get("labels", {})
        try:
            await run_helper(self.docker, await self.helper_image(), parent, ["limit", owner, f"{home}={self.home_quota_bytes()}"], labels)
        except QuotaError as e:
            raise web.HTTPError(500, "%s", f"Could not set the quota of {parent}/{home}: {e}") from None


def engine_call():
    """An async ``(method, *args, **kwargs)`` on a Docker API client, each call in a thread."""
    client = docker.APIClient(version="auto")

    async def call(method, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(None, lambda: getattr(client, method)(*args, **kwargs))

    return call


class Homes(NamedTuple):
    """The homes of every user of the hub, when they have a quota."""

    parent: str
    hub_container: str
    labels: dict[str, str]
    #: (user name, home directory below the parent, limit in bytes)
    users: list[tuple[str, str, int]]

    async def helper(self, args: list[str]) -> str:
        call = engine_call()
        image = (await call("inspect_container", self.hub_container))["Image"]
        return await run_helper(call, image, self.parent, args, self.labels)


def _homes(app) -> Homes | None:
    """The homes of every user in the hub's database, when the host mode's homes have a quota."""
    from jupyterhub import orm

    from .host import GmapDockerSpawner

    config = app.config.GmapDockerSpawner
    location = home_location(list(config.get("mount_specs", [])))
    if not issubclass(app.spawner_class, GmapDockerSpawner) or not config.get("home_quota") or location is None:
        return None
    users = [app.users[u] for u in app.db.query(orm.User)]
    return Homes(
        parent=location[0],
        hub_container=config.get("hub_container", ""),
        labels=dict(app.config.DockerSpawner.get("extra_create_kwargs", {}).get("labels", {})),
        users=[(u.name, u.spawner.home_dir()[1], u.spawner.home_quota_bytes()) for u in users],
    )


async def apply_home_quotas(app) -> None:
    """At the hub's start: checks that the homes' file system enforces the quota (else the hub stops,
    saying why: ``pulumi up`` fails on it) and limits every existing home anew."""
    homes = _homes(app)
    if homes is None:
        return
    try:
        await homes.helper(["check"])
        await homes.helper(["relimit", *(f"{home}={limit}" for _, home, limit in homes.users)])
    except QuotaError as e:
        app.log.critical("spawner.workVolume.quota cannot be enforced at %s: %s", homes.parent, e)
        raise SystemExit(1) from None


async def home_usage(app) -> dict[str, dict[str, int | None]]:
    """Every home's usage and limit in bytes, by user name (homes not made yet are left out)."""
    homes = _homes(app)
    if homes is None:
        return {}
    out = await homes.helper(["usage", *(home for _, home, _ in homes.users)])
    by_home = {}
    for line in out.splitlines():
        home, used, limit = line.split()
        by_home[home] = {"used": int(used), "limit": int(limit) if limit.isdigit() else None}
    return {name: by_home[home] for name, home, _ in homes.users if home in by_home}


def human_bytes(value: int) -> str:
    """Bytes for people, e.g. 12.0M, 2.50G."""
    for unit, size in (("T", 2**40), ("G", 2**30), ("M", 2**20)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value / 2**20:.2g}M"


class HomeUsage:
    """The homes' usage, measured by ``home_usage`` (one helper for every home): ``all`` measures anew
    (admins' page), ``of`` answers from the last measure at once and starts a new one when it is
    older than ``max_age`` seconds, so a busy home page costs one helper a minute at most."""

    max_age = 60.0

    def __init__(self, app):
        self.app = app
        self.values: dict[str, dict] = {}
        self.measured = 0.0
        self._running: asyncio.Future | None = None

    async def all(self) -> dict[str, dict]:
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(home_usage(self.app))
        try:
            self.values = await asyncio.shield(self._running)
        except Exception:  # noqa: BLE001 - the page shows the last measure; the log says why
            self.app.log.exception("Could not measure the homes' usage")
        self.measured = time.monotonic()
        return self.values

    def of(self, user) -> dict | None:
        """What the home page shows of a user's home: used, limit, percent (None: not measured yet, no quota)."""
        if user is None:
            return None
        if time.monotonic() - self.measured > self.max_age and (self._running is None or self._running.done()):
            self.measured = time.monotonic()
            asyncio.ensure_future(self.all())
        home = self.values.get(user.name)
        if home is None or not home["limit"]:
            return None
        return {"used": human_bytes(home["used"]), "limit": human_bytes(home["limit"]), "percent": min(100, round(100 * home["used"] / home["limit"]))}
