"""GmapHub: JupyterHub, which also removes what an earlier hub's crash left of interrupted spawns
(gmap_hub.leftovers) once it knows which servers still run. The hub image starts it
(``python3 -m gmap_hub.app -f jupyterhub_config.py``) in place of the ``jupyterhub`` command."""

from __future__ import annotations

import time

from jupyterhub.app import JupyterHub

from .leftovers import remove_hub_leftovers

#: When this hub process started: objects made later belong to spawns of this hub.
STARTED = time.time()


class GmapHub(JupyterHub):
    """JupyterHub with the leftovers of interrupted spawns removed at start."""

    async def init_spawners(self):
        initialized = await super().init_spawners()
        await remove_hub_leftovers(self, STARTED)
        return initialized


main = GmapHub.launch_instance

if __name__ == "__main__":
    main()
