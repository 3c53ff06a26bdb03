"""The hub's spawners, one module per job:

- ``host``: GmapDockerSpawner (each server a container), composed of the mixins below
- ``swarm``: GmapSwarmSpawner (each server a Swarm service)
- ``mounts``: mount kwargs per user, per-user host directories (``mkdir-user-dirs.sh``)
- ``server_names``: the names of a server's container (or service) and network, default or named
- ``networks``: each server's own network, its subnet, the hub and the proxy on it
- ``images``: the image menu and the user's choice of image
- ``quota``: quotas of per-user directories, the homes' and storage's (Btrfs subvolumes with qgroup limits, ``quota.sh``)
- ``sizes``: the sizes a user may choose, the spawn form (image x size), the chosen size's limits
- ``startup``: the start hook (``start-hook.sh``), its outcome, the wait until the server answers
- ``logs``: share credentials hidden in the log, output cleaned for users

The configuration names the classes as ``gmap_hub.spawner.GmapDockerSpawner`` and
``gmap_hub.spawner.GmapSwarmSpawner``.
"""

from .host import GmapDockerSpawner
from .swarm import GmapSwarmSpawner

__all__ = ["GmapDockerSpawner", "GmapSwarmSpawner"]
