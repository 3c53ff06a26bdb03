"""Quotas on per-user host directories (settings.json spawner.mounts[].quota: the homes, the bind
mount named "user", and per-user storage): each user's directory is a Btrfs subvolume with a qgroup
limit. The hub sees only the Docker socket, so a helper container does the file system's part: the
hub's own image (it has btrfs-progs), as root with CAP_SYS_ADMIN (what Btrfs asks for subvolumes and
qgroups) and no network, the directories' fixed parent mounted, running ``quota.sh``; it is removed
afterwards.

- before each server starts: the user's directories made subvolumes (when missing) and limited
  (``QuotaMixin.limit_directories``);
- at the hub's start: each parent's file system checked (the hub refuses to start on one that cannot
  enforce the quota, so ``pulumi up`` fails there) and every existing directory limited anew, so a
  raised limit holds at once (``apply_quotas``);
- for the admins' usage page and each user's home page: every directory's usage and limit, measured
  at most once a minute for the users' pages (``QuotaUsage``)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import NamedTuple

import docker
from docker.errors import APIError
from tornado import web
from traitlets import HasTraits

from .logs import CONTROL

#: Where the helper sees the fixed parent of the directories.
PARENT_MOUNT = "/gmap-quota"
#: The helper's program (``sh -c QUOTA_SCRIPT gmap-quota PARENT_MOUNT ACTION ARGS...``).
QUOTA_SCRIPT = Path(__file__).with_name("quota.sh").read_text(encoding="utf-8")
#: The mount spec of the homes (components/names.ts homeMount).
HOME_MOUNT = "user"


class QuotaError(Exception):
    """The helper failed; the message is what it said."""


def quota_location(spec: dict) -> tuple[str, str] | None:
    """(the fixed parent on the host, the per-user directory below it with {username}) of a per-user
    bind mount with a quota, else None."""
    source = spec["source"]
    if not spec.get("quota") or spec["type"] != "bind" or not spec["per_user"] or "{username}" not in source:
        return None
    cut = source.rfind("/", 0, source.index("{username}"))
    return source[:cut], source[cut + 1 :].split("/")[0]


def quota_bytes(quota: dict, groups: set[str]) -> int:
    """A user's limit: the largest of their groups' limits, else the limit of every user."""
    limits = [quota["groups"][g] for g in groups if g in quota["groups"]]
    return max(limits) if limits else quota["bytes"]


def human_bytes(value: int) -> str:
    """Bytes for people, e.g. 12M, 2.5G, 1000M."""
    for unit, size in (("T", 2**40), ("G", 2**30), ("M", 2**20)):
        if value >= size:
            return f"{value / size:.4g}{unit}"
    return f"{value / 2**20:.2g}M"


async def run_helper(call, image: str, parent: str, args: list[str], labels: dict[str, str]) -> str:
    """Runs quota.sh in a helper container (``call``: an async ``(method, *args, **kwargs)`` on
    Docker's API client) and returns its output; QuotaError with its message when it fails, or when
    Docker refuses the helper (a parent directory that does not exist)."""
    try:
        helper = await call(
            "create_container",
            image=image,
            entrypoint=["sh", "-c", QUOTA_SCRIPT, "gmap-quota"],
            command=[PARENT_MOUNT, *args],
            user="0:0",
            labels=dict(labels),
            network_disabled=True,
            host_config={
                "Mounts": [{"Type": "bind", "Source": parent, "Target": PARENT_MOUNT, "ReadOnly": False}],
                "NetworkMode": "none",
                "CapDrop": ["ALL"],
                "CapAdd": ["SYS_ADMIN", "CHOWN", "FOWNER", "DAC_OVERRIDE"],
            },
        )
    except APIError as e:
        raise QuotaError(str(e.explanation or e)) from None
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


def engine_call():
    """An async ``(method, *args, **kwargs)`` on a Docker API client, each call (the client's own
    version request included) in a thread, never on the event loop."""
    clients: list[docker.APIClient] = []

    def run(method, args, kwargs):
        if not clients:
            clients.append(docker.APIClient(version="auto"))
        return getattr(clients[0], method)(*args, **kwargs)

    async def call(method, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(None, run, method, args, kwargs)

    return call


class QuotaDir(NamedTuple):
    """One user's directory under a quota."""

    mount: str
    parent: str
    directory: str
    limit: int


class QuotaMixin(HasTraits):
    """``limit_directories`` (called by ``create_object`` before the server is created)."""

    def quota_dirs(self) -> list[QuotaDir]:
        """This user's directories under a quota (their mounts of now: a team's only for members)."""
        groups = {g.name for g in self.user.groups}
        dirs = []
        for spec in self.user_mount_specs():
            location = quota_location(spec)
            if location:
                dirs.append(QuotaDir(spec["name"], location[0], self._substitute_user(location[1]), quota_bytes(spec["quota"], groups)))
        return dirs

    async def limit_directories(self):
        """Makes each of the user's directories under a quota a subvolume (when missing) and sets its
        limit, before the server starts: one helper per parent."""
        by_parent: dict[str, list[str]] = {}
        for d in self.quota_dirs():
            by_parent.setdefault(d.parent, []).append(f"{d.directory}={d.limit}")
        if not by_parent:
            return
        image = (await self.docker("inspect_container", self.hub_container))["Image"]
        owner = f"{self.environment['NB_UID']}:{self.environment['NB_GID']}"
        labels = self.extra_create_kwargs.get("labels", {})
        for parent, items in by_parent.items():
            try:
                await run_helper(self.docker, image, parent, ["limit", owner, *items], labels)
            except QuotaError as e:
                raise web.HTTPError(500, "%s", f"Could not set the quota of your directories in {parent}: {e}") from None


class Quotas(NamedTuple):
    """Every user's directories under a quota, when there are such mounts."""

    hub_container: str
    labels: dict[str, str]
    #: the parents, with the mounts whose directories are there
    parents: dict[str, list[str]]
    #: (user name, directory)
    dirs: list[tuple[str, QuotaDir]]

    async def helper(self, parent: str, args: list[str]) -> str:
        call = engine_call()
        image = (await call("inspect_container", self.hub_container))["Image"]
        return await run_helper(call, image, parent, args, self.labels)

    def at(self, parent: str) -> list[tuple[str, QuotaDir]]:
        return [(user, d) for user, d in self.dirs if d.parent == parent]


def _quotas(app) -> Quotas | None:
    """The directories of every user in the hub's database, when mounts of host mode have a quota."""
    from jupyterhub import orm

    from .host import GmapDockerSpawner

    config = app.config.GmapDockerSpawner
    specs = [s for s in config.get("mount_specs", []) if quota_location(s)]
    if not issubclass(app.spawner_class, GmapDockerSpawner) or not specs:
        return None
    parents: dict[str, list[str]] = {}
    for spec in specs:
        parents.setdefault(quota_location(spec)[0], []).append(spec["name"])
    users = [app.users[u] for u in app.db.query(orm.User)]
    return Quotas(
        hub_container=config.get("hub_container", ""),
        labels=dict(app.config.DockerSpawner.get("extra_create_kwargs", {}).get("labels", {})),
        parents=parents,
        dirs=[(u.name, d) for u in users for d in u.spawner.quota_dirs()],
    )


async def apply_quotas(app) -> None:
    """At the hub's start: checks that each parent's file system enforces the quota (else the hub
    stops, saying why: ``pulumi up`` fails on it) and limits every existing directory anew."""
    quotas = _quotas(app)
    if quotas is None:
        return
    for parent, mounts in quotas.parents.items():
        try:
            await quotas.helper(parent, ["check"])
            await quotas.helper(parent, ["relimit", *(f"{d.directory}={d.limit}" for _, d in quotas.at(parent))])
        except QuotaError as e:
            app.log.critical("The quota of the mounts %s cannot be enforced at %s: %s", ", ".join(mounts), parent, e)
            raise SystemExit(1) from None


async def quota_usage(app) -> dict[str, dict[str, dict[str, int | None]]]:
    """Usage and limit in bytes of every directory under a quota: by mount name, then by user name
    (directories not made yet are left out)."""
    quotas = _quotas(app)
    if quotas is None:
        return {}
    usage: dict[str, dict[str, dict[str, int | None]]] = {}
    for parent in quotas.parents:
        dirs = quotas.at(parent)
        out = await quotas.helper(parent, ["usage", *sorted({d.directory for _, d in dirs})])
        measured = {}
        for line in out.splitlines():
            directory, used, limit = line.split()
            measured[directory] = {"used": int(used), "limit": int(limit) if limit.isdigit() else None}
        for user, d in dirs:
            if d.directory in measured:
                usage.setdefault(d.mount, {})[user] = measured[d.directory]
    return usage


class QuotaUsage:
    """The usage of the directories under a quota, measured by ``quota_usage`` (one helper per
    parent): ``all`` measures anew (admins' page), ``of`` answers from the last measure at once and
    starts a new one when it is older than ``max_age`` seconds, so a busy home page costs one measure
    a minute at most."""

    max_age = 60.0

    def __init__(self, app, targets: dict[str, str]):
        self.app = app
        #: where each mount appears in the servers, by mount name
        self.targets = targets
        self.values: dict[str, dict[str, dict]] = {}
        self.measured = 0.0
        self._running: asyncio.Future | None = None

    async def all(self) -> dict[str, dict[str, dict]]:
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(quota_usage(self.app))
        try:
            self.values = await asyncio.shield(self._running)
        except Exception:  # noqa: BLE001 - the pages show the last measure; the log says why
            self.app.log.exception("Could not measure the usage of the directories under a quota")
        self.measured = time.monotonic()
        return self.values

    def of(self, user) -> list[dict]:
        """What the home page shows of a user's directories under a quota, the home first: where,
        used, limit, percent (empty: not measured yet, or none)."""
        if user is None:
            return []
        if time.monotonic() - self.measured > self.max_age and (self._running is None or self._running.done()):
            self.measured = time.monotonic()
            asyncio.ensure_future(self.all())
        shown = []
        for mount in sorted(self.values, key=lambda m: (m != HOME_MOUNT, m)):
            entry = self.values[mount].get(user.name)
            if entry and entry["limit"]:
                shown.append(
                    {
                        "home": mount == HOME_MOUNT,
                        "target": self.targets.get(mount, mount),
                        "used": human_bytes(entry["used"]),
                        "limit": human_bytes(entry["limit"]),
                        "percent": min(100, round(100 * entry["used"] / entry["limit"])),
                    }
                )
        return shown
