#!/usr/bin/env python3
"""Single-user server command of the notebook stand-in images (docker-stacks behaviour):
`jupyterhub-singleuser $NOTEBOOK_ARGS <argv>`; JupyterHub passes its settings as env vars."""

import os
import shlex
import sys

command = ["jupyterhub-singleuser"]
command += shlex.split(os.environ.get("NOTEBOOK_ARGS", ""))
command += sys.argv[1:]
print("Executing: " + " ".join(command), flush=True)
os.execvp(command[0], command)
