"""The spawner: its class (host or swarm mode), images, container settings, user networks and traits."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from ..settings import Section
from .mounts import mounts
from .traits import TraitTable, set_traits

SPAWNER_CLASS = "gmap_hub.spawner.GmapDockerSpawner"
#: The spawner in swarm mode (spawner.swarm): each server a Swarm service.
SWARM_SPAWNER_CLASS = "gmap_hub.spawner.GmapSwarmSpawner"

#: Settings that map one to one onto a trait, one line per option: (settings key, class, trait).
#: The contract (settings.schema.json) has checked their values; null leaves the trait unset.
SPAWNER_TRAITS: TraitTable = (
    ("startTimeout", "Spawner", "start_timeout"),
    ("httpTimeout", "Spawner", "http_timeout"),
    ("defaultUrl", "Spawner", "default_url"),
    ("notebookDir", "Spawner", "notebook_dir"),
    ("memLimit", "DockerSpawner", "mem_limit"),
    ("cpuLimit", "DockerSpawner", "cpu_limit"),
)

#: Fields of an image entry that tell the images apart (the contract guarantees they are there).
UNIQUE_IMAGE_FIELDS = ("name", "displayName", "image")


def images(spawner: Section) -> tuple[list[dict], str]:
    """The image entries as the contract gives them (passed on whole), and the default image's name."""
    entries = [dict(entry) for entry in spawner.raw("images")]
    for field in UNIQUE_IMAGE_FIELDS:
        values = [i[field] for i in entries]
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            raise spawner.error("images", f"{field} {dup[0]!r} is used by several images")
    default = spawner.string("defaultImage")
    if default not in {i["name"] for i in entries}:
        raise spawner.error("defaultImage", f"{default!r} is not the name of an image ({', '.join(i['name'] for i in entries)})")
    return entries, default


def configure_spawner(c, spawner: Section, hooks: Section, secrets: Section, hub: Section) -> None:
    """Sets DockerSpawner's and GmapDockerSpawner's traits (and GmapSwarmSpawner's in swarm mode)."""
    entries, default = images(spawner)
    default_image = next(i["image"] for i in entries if i["name"] == default)
    swarm = spawner.section("swarm") if spawner.has("swarm") else None
    specs, driver_options = mounts(spawner, secrets, swarm is not None)
    labels = spawner.string_map("labels", {})

    c.JupyterHub.spawner_class = SPAWNER_CLASS if swarm is None else SWARM_SPAWNER_CLASS
    # past this many servers starting at once, a user is told to try again in a few seconds (429);
    # past the running-server limit or the memory budget, that the hub is full (gmap_hub.ceiling)
    c.JupyterHub.concurrent_spawn_limit = spawner.integer("concurrentSpawnLimit")
    c.GmapHub.max_servers = spawner.integer("maxServers", 0)
    c.GmapHub.memory_budget = spawner.optional_string("memoryBudget")

    d = c.DockerSpawner
    # every server on its own network (GmapDockerSpawner.network_name), reached at its address there
    d.use_internal_ip = True
    # a fresh container from the current image at every start; data lives in the mounts (a stopped
    # service always goes: SwarmSpawner has no remove option)
    if swarm is None:
        d.remove = True
    d.name_template = spawner.string("containerNameTemplate")
    d.image = default_image
    # several images: DockerSpawner lets users choose among allowed_images (label -> image)
    d.allowed_images = {i["displayName"]: i["image"] for i in entries} if len(entries) > 1 else {}

    set_traits(c, spawner, SPAWNER_TRAITS)

    # docker-stacks images started as root set the notebook user's ids, fix the ownership of the
    # home and the writable mounts, then drop to the notebook user
    environment = {
        "NB_UID": str(spawner.integer("uid")),
        "NB_GID": str(spawner.integer("gid")),
        "CHOWN_HOME": "yes",
    }
    # the writable mounts' ownership (CHOWN_EXTRA) depends on who starts: GmapDockerSpawner.get_env
    environment.update(spawner.string_map("environment", {}))
    d.environment = environment
    d.extra_create_kwargs = {"user": "root", "labels": dict(labels)}
    # bounded: processes and threads (a fork bomb stops at its own limit) and the log on the host's
    # disk; no privilege gain and only the capabilities the start-up needs (in swarm mode
    # GmapSwarmSpawner puts what a service can carry into its task)
    d.extra_host_config = {
        "pids_limit": spawner.integer("pidsLimit"),
        "log_config": {"type": "json-file", "config": spawner.string_map("logOptions")},
        **privileges(spawner.section("privileges")),
        **disk_bounds(spawner),
    }

    g = c.GmapDockerSpawner
    g.images = entries
    g.default_image_name = default
    g.sizes, g.default_size_name = sizes(spawner, {i["name"] for i in entries})
    g.mount_specs = specs
    g.volume_labels = dict(labels)
    g.volume_driver_options = driver_options
    g.start_hook = hooks.optional_string("startScript")
    g.network_name_template = spawner.string("networkTemplate")
    configure_named_servers(c, spawner)
    g.network_labels = spawner.string_map("networkLabels")
    g.network_pool = spawner.string("networkPool")
    g.network_prefix_length = network_prefix_length(spawner)
    g.hub_container = hub.string("container")
    g.hub_alias = hub.string("connectHost")
    g.proxy_container = hub.string("proxyContainer")

    if swarm is not None:
        configure_swarm(c, swarm, {i["name"] for i in entries})


def configure_named_servers(c, spawner: Section) -> None:
    """Named servers beside each user's default one (spawner.namedServers, absent: off): JupyterHub's
    limit per user, the names of their containers (or services) and networks."""
    if not spawner.has("namedServers"):
        return
    named = spawner.section("namedServers")
    c.JupyterHub.allow_named_servers = True
    c.JupyterHub.named_server_limit_per_user = named.integer("limit")
    c.GmapDockerSpawner.named_name_template = named.string("containerNameTemplate")
    c.GmapDockerSpawner.named_network_template = named.string("networkTemplate")


def disk_bounds(spawner: Section) -> dict:
    """What a server may write outside its mounts: /tmp as a tmpfs of spawner.tmpBytes, the writable
    layer at most spawner.writableLayerBytes (Docker's storage-opt; the hub checks at its start that
    the engine takes it: gmap_hub.spawner.layer)."""
    bounds = {}
    if spawner.has("tmpBytes"):
        # exec as on a disk (Docker's tmpfs default is noexec): the start hook and programs users
        # build run from /tmp; nosuid and nodev stay
        bounds["tmpfs"] = {"/tmp": f"size={spawner.integer('tmpBytes')},mode=1777,exec"}
    if spawner.has("writableLayerBytes"):
        bounds["storage_opt"] = {"size": str(spawner.integer("writableLayerBytes"))}
    return bounds


def sizes(spawner: Section, image_names: set[str]) -> tuple[list[dict], str]:
    """The size entries as the contract gives them (passed on whole) and the default size's name;
    none without sizes."""
    if not spawner.has("sizes"):
        return [], ""
    entries = [dict(entry) for entry in spawner.raw("sizes")]
    names = [s["name"] for s in entries]
    for i, size in enumerate(entries):
        if names.count(size["name"]) > 1:
            raise spawner.error("sizes", f"size name {size['name']!r} is used by several sizes")
        unknown = sorted(set(size["images"] or []) - image_names)
        if unknown:
            raise spawner.sections("sizes")[i].error("images", f"{unknown[0]!r} is not the name of an image")
    default = spawner.string("defaultSize")
    if default not in names:
        raise spawner.error("defaultSize", f"{default!r} is not the name of a size ({', '.join(names)})")
    return entries, default


def configure_swarm(c, swarm: Section, image_names: set[str]) -> None:
    """Swarm mode: where the servers' services may run, for every image and per image; the egress
    guards' service (spawner.egress.restrict), which must run on a server's node."""
    image_constraints = swarm.section("imageConstraints")
    per_image = {}
    for name in swarm.raw("imageConstraints"):
        if name not in image_names:
            raise image_constraints.error(name, f"{name!r} is not the name of an image ({', '.join(sorted(image_names))})")
        per_image[name] = image_constraints.strings(name)
    s = c.GmapSwarmSpawner
    s.constraints = swarm.strings("constraints")
    s.image_constraints = per_image
    if swarm.has("egressGuard"):
        s.egress_guard_service = swarm.string("egressGuard")


def network_prefix_length(spawner: Section) -> int:
    """The prefix length of each user network's subnet, one that splits networkPool into several."""
    length = spawner.integer("networkPrefixLength")
    pool = ipaddress.ip_network(spawner.string("networkPool"))
    if length <= pool.prefixlen:
        raise spawner.error("networkPrefixLength", f"{length} does not split networkPool {pool} (/{pool.prefixlen}) into subnets")
    return length


#: Docker's default seccomp profile without the ioctls that create Btrfs subvolumes and snapshots
#: (generated by generate/seccomp, `npm run seccomp`): for servers whose storage has a quota.
SECCOMP_PROFILE = Path(__file__).parent.parent / "spawner" / "seccomp.json"


def privileges(section: Section) -> dict:
    """Docker host config of the user servers' privileges (security_opt, cap_drop, cap_add), what is set only."""
    security_opt = ["no-new-privileges:true"] if section.boolean("noNewPrivileges") else []
    if section.boolean("noSubvolumes", False):
        # the API takes the profile itself (the docker CLI reads the file it is given)
        profile = json.loads(SECCOMP_PROFILE.read_text())
        security_opt.append("seccomp=" + json.dumps(profile, separators=(",", ":")))
    config = {
        "security_opt": security_opt,
        "cap_drop": section.strings("capDrop"),
        "cap_add": section.strings("capAdd"),
    }
    return {key: value for key, value in config.items() if value}
