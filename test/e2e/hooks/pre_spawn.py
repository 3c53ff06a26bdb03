"""End-to-end pre-spawn hook: tells the notebook container what the hub saw."""

import os

MARKERS = "/srv/jupyterhub/data/e2e-post-auth"


def pre_spawn_hook(spawner):
    name = spawner.user.name
    spawner.environment["GMAP_PRE_SPAWN_USER"] = name
    spawner.environment["GMAP_POST_AUTH_SEEN"] = "yes" if os.path.exists(os.path.join(MARKERS, name)) else "no"
