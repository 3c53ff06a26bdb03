"""The mounts of user servers: their specs for the spawner and the driver options of the volumes it creates."""

from __future__ import annotations

from ..settings import Section


def mounts(spawner: Section, secrets: Section, swarm: bool = False) -> tuple[list[dict], dict]:
    """The mount specs and the driver options of the mounts the spawner creates, by mount name.

    ``driver`` (default Docker's ``local``) is the volume driver of a mount's driver options; a
    volume plugin may need none, the local driver always does. In swarm mode every node creates a
    volume with driver options on first use, shared ones too, and there are no per-user host
    directories (the hub creates those on its own host only)."""
    specs, driver_options = [], {}
    for m in spawner.sections("mounts", []):
        spec = {
            "name": m.string("name"),
            "type": m.string("type"),
            "source": m.string("source"),
            "target": m.string("target"),
            "read_only": m.boolean("readOnly"),
            "per_user": m.boolean("perUser"),
            "driver_options": m.boolean("driverOptions"),
            "driver": m.string("driver", "local"),
            # for some only: members of groups get the mount, writers may write a read-only one
            "groups": m.raw("groups", None),
            "environment": m.string_map("environment", {}),
            # per-user bind mounts: a Btrfs subvolume per user with this limit (gmap_hub.spawner.quota)
            "quota": m.raw("quota", None),
            "writers": ({"admins": m.section("writers").boolean("admins"), "groups": m.section("writers").strings("groups")} if m.has("writers") else None),
        }
        if spec["type"] == "bind" and not spec["source"].startswith("/"):
            raise m.error("source", f"a bind mount needs an absolute host path, got {spec['source']!r}")
        if swarm and spec["type"] == "bind" and spec["per_user"]:
            raise m.error("perUser", "per-user host directories are not available in swarm mode (servers run on any node); use a volume")
        if spec["driver_options"]:
            if spec["type"] != "volume" or not (spec["per_user"] or swarm):
                raise m.error("driverOptions", "only per-user volumes are created with driver options")
            options = secrets.section("mountDriverOptions").string_map(spec["name"])
            if not options and spec["driver"] == "local":
                raise secrets.error(f"mountDriverOptions.{spec['name']}", "must not be empty")
            driver_options[spec["name"]] = options
        specs.append(spec)
    names = [s["name"] for s in specs]
    targets = [s["target"] for s in specs]
    for what, values in (("name", names), ("target", targets)):
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            raise spawner.error("mounts", f"{what} {dup[0]!r} is used by several mounts")
    return specs, driver_options
