"""The hub process and its proxy: URLs, ports, the hub database, cookies."""

from __future__ import annotations

import os
from urllib.parse import quote, urlparse, urlunparse

from ..proxy import GmapProxy
from ..settings import Section

#: Templates of the hub's own pages.
TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")


def configure_hub(c, hub: Section, secrets: Section) -> None:
    """Sets the hub's URLs, its API port and address, the external proxy and the database."""
    public_url = hub.string("publicUrl")
    parsed = urlparse(public_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise hub.error("publicUrl", f"expected an http(s) URL such as https://hub.example.org, got {public_url!r}")
    base_url = parsed.path.rstrip("/") + "/"
    c.JupyterHub.base_url = base_url
    # JupyterHub 5: the public URL includes base_url and ends with a slash
    c.JupyterHub.public_url = urlunparse(parsed._replace(path=base_url, params="", query="", fragment=""))

    # private registries: every Docker client of the hub (docker-py reads DOCKER_CONFIG when one is
    # made) pulls with their credentials and, in swarm mode, sends them with each service it creates
    docker_config = hub.optional_string("dockerConfigDir")
    if docker_config:
        os.environ["DOCKER_CONFIG"] = docker_config

    c.JupyterHub.log_level = hub.string("logLevel")
    # the hub's own pages (the usage page of gmap_hub.ceiling)
    c.JupyterHub.template_paths = [TEMPLATES]

    # user servers on the Docker network reach the hub by its network alias
    c.JupyterHub.hub_ip = "0.0.0.0"
    c.JupyterHub.hub_port = hub.integer("port")
    c.JupyterHub.hub_connect_ip = hub.string("connectHost")

    # the proxy runs in its own container: routes (and user servers) survive hub restarts; the hub
    # checks them often, so a restarted (empty) proxy routes everyone again within seconds
    c.JupyterHub.proxy_class = GmapProxy
    c.GmapProxy.route_check_interval = hub.integer("proxyRouteCheckSeconds")
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = hub.string("proxyApiUrl")
    c.ConfigurableHTTPProxy.auth_token = secrets.string("proxyAuthToken")
    # the client address of a login is the one this proxy saw (gmap_hub.client_address)
    c.GmapNativeAuthenticator.proxy_container = hub.string("proxyContainer")
    c.JupyterHub.cleanup_servers = False

    data_dir = hub.string("dataDir")
    if not os.path.isdir(data_dir):
        raise hub.error("dataDir", f"directory {data_dir} does not exist (the hub-data volume is mounted there)")
    c.JupyterHub.db_url = database_url(hub, secrets, data_dir)
    # below this reserve of free space in data_dir, changes are refused (gmap_hub.data_space)
    c.GmapHub.data_dir = data_dir
    c.GmapHub.data_reserve_mib = hub.integer("dataReserveMiB")
    # a new JupyterHub version migrates the database at start (docs/operations.md, "Upgrading");
    # JupyterHub copies a SQLite file to <file>.<timestamp> first
    c.JupyterHub.upgrade_db = True

    c.JupyterHub.cookie_secret = bytes.fromhex(secrets.string("cookieSecret"))

    # HTTPS by the stack's front proxy (hub.tls): JupyterHub marks its login cookies Secure from
    # the https public URL; cookie_options adds the XSRF cookie and, through the spawner
    # (JUPYTERHUB_COOKIE_OPTIONS), the user servers' cookies
    if hub.boolean("secureCookies", False):
        c.JupyterHub.tornado_settings = {"cookie_options": {"secure": True}}


def database_url(hub: Section, secrets: Section, data_dir: str) -> str:
    """SQLAlchemy URL of the hub database: PostgreSQL when settings name one, else the SQLite file
    ``hub.sqliteFile`` in data_dir.

    JupyterHub shows the URL in its logs with the password replaced by [redacted].
    """
    if not hub.has("database"):
        sqlite_file = hub.string("sqliteFile")
        return f"sqlite:///{data_dir.rstrip('/')}/{sqlite_file}"
    # the contract says type postgres and a port in range
    db = hub.section("database")
    password = secrets.string("databasePassword")
    return "postgresql+psycopg2://{user}:{password}@{host}:{port}/{name}".format(
        user=quote(db.string("user"), safe=""),
        password=quote(password, safe=""),
        host=db.string("host"),
        port=db.integer("port"),
        name=quote(db.string("name"), safe=""),
    )
