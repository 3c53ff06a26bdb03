"""End-to-end post-auth hook: records each successful login in the hub's data volume."""

import json
import os
import time

MARKERS = "/srv/jupyterhub/data/e2e-post-auth"


def post_auth_hook(authenticator, handler, authentication):
    os.makedirs(MARKERS, exist_ok=True)
    with open(os.path.join(MARKERS, authentication["name"]), "w") as f:
        json.dump({"name": authentication["name"], "time": time.time()}, f)
    return authentication
