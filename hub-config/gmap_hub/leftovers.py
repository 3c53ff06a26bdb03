"""What a hub crash can leave on the engine: a spawn interrupted between creating the user's network
(or container) and recording the server leaves a network (or a running container) that no server of
the hub owns. At the hub's start, once JupyterHub has decided which servers still run, those are
removed (the containers stopped and removed, their volumes kept; the networks after whatever is
still attached, the hub and the proxy, left them). Objects made after the hub process started belong to spawns under way and are
left alone, as is everything of swarm mode (services, overlay networks)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import docker
from docker.errors import NotFound


def _created(value) -> float:
    """A Docker creation time (container lists: seconds; network lists: RFC 3339 with nanoseconds) in seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).replace("Z", "+00:00")
    whole, _, rest = text.partition(".")
    if rest:
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        text = f"{whole}.{digits[:6]}{zone}"
    return datetime.fromisoformat(text).timestamp()


def _selector(labels: dict[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in sorted(labels.items())]


def remove_leftovers(
    client,
    *,
    container_labels: dict[str, str],
    network_labels: dict[str, str],
    owned_containers: set[str],
    owned_networks: set[str],
    before: float,
) -> list[str]:
    """Removes the user servers' containers and networks (found by their labels) that no server owns
    and that were created before ``before``; returns what it removed."""
    removed = []
    if container_labels:
        for c in client.containers(all=True, filters={"label": _selector(container_labels)}):
            name = (c.get("Names") or ["/"])[0].lstrip("/")
            if name in owned_containers or _created(c.get("Created", 0)) >= before:
                continue
            try:
                client.remove_container(c["Id"], force=True)
            except NotFound:
                continue
            removed.append(f"container {name}")
    if network_labels:
        for n in client.networks(filters={"label": _selector(network_labels)}):
            name = n.get("Name", "")
            if name in owned_networks or _created(n.get("Created", 0)) >= before:
                continue
            try:
                # whatever is still attached (the hub, the proxy) leaves first, as when a server stops
                for attached in (client.inspect_network(n["Id"]).get("Containers") or {}).values():
                    client.disconnect_container_from_network(attached["Name"], n["Id"], force=True)
                client.remove_network(n["Id"])
            except NotFound:
                continue
            removed.append(f"network {name}")
    return removed


async def remove_hub_leftovers(app, before: float) -> None:
    """After ``init_spawners``: the servers JupyterHub kept (running or still starting) own their
    container and network; the rest of this stack's user containers and networks made before
    ``before`` go."""
    from .spawner.swarm import GmapSwarmSpawner

    if issubclass(app.spawner_class, GmapSwarmSpawner):
        return
    spawners = [s for user in app.users.values() for s in user.spawners.values() if s.server is not None or s.pending]
    config = app.config
    labels = dict(config.DockerSpawner.get("extra_create_kwargs", {}).get("labels", {}))
    network_labels = dict(config.GmapDockerSpawner.get("network_labels", {}))

    def run():
        with docker.APIClient(version="auto") as client:
            return remove_leftovers(
                client,
                container_labels=labels,
                network_labels=network_labels,
                owned_containers={s.object_name for s in spawners},
                owned_networks={s.network_name for s in spawners},
                before=before,
            )

    try:
        removed = await asyncio.get_running_loop().run_in_executor(None, run)
    except Exception as e:  # noqa: BLE001 - the hub starts anyway; the next spawn of that user reuses or replaces them
        app.log.warning("Could not look for servers' leftovers of an earlier hub: %s", e)
        return
    for what in removed:
        app.log.warning("Removed %s: no server owns it (a spawn an earlier hub did not finish)", what)
