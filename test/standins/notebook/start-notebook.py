#!/usr/bin/env python3
"""Default command of the notebook stand-in images (docker-stacks' start-notebook.py behaviour).

Started by JupyterHub (JUPYTERHUB_API_TOKEN set): hand over to start-singleuser.py.
Otherwise: `jupyter ${DOCKER_STACKS_JUPYTER_CMD:-lab} $NOTEBOOK_ARGS <argv>`.
"""

import os
import shlex
import sys

if "JUPYTERHUB_API_TOKEN" in os.environ:
    print(
        "WARNING: using start-singleuser.py instead of start-notebook.py to start a server associated with JupyterHub.",
        flush=True,
    )
    command = ["/usr/local/bin/start-singleuser.py", *sys.argv[1:]]
    os.execvp(command[0], command)

command = ["jupyter", os.environ.get("DOCKER_STACKS_JUPYTER_CMD", "lab")]
command += shlex.split(os.environ.get("NOTEBOOK_ARGS", ""))
command += sys.argv[1:]
print("Executing: " + " ".join(command), flush=True)
os.execvp(command[0], command)
