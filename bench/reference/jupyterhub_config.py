"""The reference deployment of the benchmark: the settings of jupyterhub-deploy-docker's basic
example (its jupyterhub_config.py and docker-compose.yml: DockerSpawner on one shared network with
internal IPs, a volume per user on the notebook directory, containers removed when stopped,
NativeAuthenticator with open sign-up, SQLite on a data volume), restated trait by trait so both
deployments run on the same images and host in one benchmark run (bench/reference.ts).

What the benchmark adds, none of which takes part in a spawn: the proxy runs in a container of its
own (the upstream hub image bundles configurable-http-proxy, the offline stand-in does not), an API
service token for the benchmark, and labels on the user containers so the benchmark finds and
removes exactly what it created.
"""

import json
import os

c = get_config()  # noqa: F821

# -- the reference's settings ---------------------------------------------------------------------
c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"
c.DockerSpawner.image = os.environ["DOCKER_NOTEBOOK_IMAGE"]
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.network_name = os.environ["DOCKER_NETWORK_NAME"]
notebook_dir = os.environ.get("DOCKER_NOTEBOOK_DIR", "/home/jovyan/work")
c.DockerSpawner.notebook_dir = notebook_dir
c.DockerSpawner.volumes = {"jupyterhub-user-{username}": notebook_dir}
c.DockerSpawner.remove = True
c.DockerSpawner.debug = True
c.JupyterHub.hub_ip = "jupyterhub"
c.JupyterHub.hub_port = 8080
c.JupyterHub.cookie_secret_file = "/data/jupyterhub_cookie_secret"
c.JupyterHub.db_url = "sqlite:////data/jupyterhub.sqlite"
c.Authenticator.allow_all = True
c.JupyterHub.authenticator_class = "nativeauthenticator.NativeAuthenticator"
c.NativeAuthenticator.open_signup = True
c.Authenticator.admin_users = ["admin"]

# -- benchmark additions --------------------------------------------------------------------------
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = os.environ["BENCH_PROXY_API_URL"]
c.ConfigurableHTTPProxy.auth_token = os.environ["CONFIGPROXY_AUTH_TOKEN"]
c.JupyterHub.services = [{"name": "bench", "api_token": os.environ["BENCH_API_TOKEN"]}]
c.JupyterHub.load_roles = [
    {
        "name": "bench",
        "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users", "read:servers"],
        "services": ["bench"],
    }
]
c.DockerSpawner.extra_create_kwargs = {"labels": json.loads(os.environ["BENCH_LABELS"])}
