"""The servers' writable layer bound (settings.json spawner.writableLayerBytes, Docker's storage-opt
size): only some storage drivers take it (overlay2 on XFS mounted with pquota, btrfs, zfs), and
Docker says so only when a container is created. At its start the hub creates one container of its
own image with that option, without starting it, and removes it: on an engine that refuses, the hub
stops, saying why, so ``pulumi up`` fails instead of every spawn."""

from __future__ import annotations

from docker.errors import APIError

from .quota import engine_call


async def check_writable_layer(app) -> None:
    """Stops the hub when the engine cannot bound the servers' writable layer as configured."""
    storage_opt = app.config.DockerSpawner.get("extra_host_config", {}).get("storage_opt")
    if not storage_opt:
        return
    call = engine_call()
    hub = app.config.GmapDockerSpawner.get("hub_container", "")
    try:
        image = (await call("inspect_container", hub))["Image"]
        probe = await call(
            "create_container",
            image=image,
            command=["true"],
            labels=dict(app.config.DockerSpawner.get("extra_create_kwargs", {}).get("labels", {})),
            network_disabled=True,
            host_config={"StorageOpt": dict(storage_opt), "NetworkMode": "none"},
        )
    except APIError as e:
        app.log.critical(
            "spawner.writableLayerSize cannot be enforced by this Docker engine: %s (docs/storage.md says which engines can)",
            e.explanation or e,
        )
        raise SystemExit(1) from None
    await call("remove_container", probe["Id"], force=True)
