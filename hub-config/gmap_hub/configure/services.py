"""The hub's services: the operator's (each with its token and a role of its scopes), the idle
culler (its service name and scopes from settings.json ``culler``) and those of the hub's own
features (monitoring: :func:`gmap_hub.configure.monitoring.configure_monitoring`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NamedTuple

from ..settings import Section


class HubService(NamedTuple):
    """A service of one of the hub's own features: its ``JupyterHub.services`` entry, its role and
    what it is for (named when an operator's service takes its name)."""

    service: dict
    role: dict
    purpose: str


def configure_services(c, services: list[Section], culler: Section, secrets: Section, own: Sequence[HubService] = ()) -> None:
    """Sets ``JupyterHub.services`` and the services' roles (``JupyterHub.load_roles``): the
    operator's, the idle culler's and ``own`` (the hub's own features'), whose names are reserved."""
    culler_name = culler.string("service")
    reserved = {culler_name: "the idle culler", **{s.service["name"]: s.purpose for s in own}}
    declared, roles = [], []
    tokens = secrets.section("serviceTokens") if services else None
    for svc in services:
        name = svc.string("name")
        if name in reserved:
            raise svc.error("name", f"{name!r} is reserved for {reserved[name]}")
        if name in {s["name"] for s in declared}:
            raise svc.error("name", f"service {name!r} is declared twice")
        scopes = svc.strings("scopes")
        declared.append({"name": name, "api_token": tokens.string(name)})
        roles.append({"name": f"service-{name}", "description": f"Scopes of the {name} service", "scopes": scopes, "services": [name]})

    if culler.boolean("enabled"):
        declared.append(
            {
                "name": culler_name,
                "command": [
                    sys.executable,
                    "-m",
                    "jupyterhub_idle_culler",
                    f"--timeout={culler.integer('timeout')}",
                    f"--cull-every={culler.integer('every')}",
                    f"--max-age={culler.integer('maxAge')}",
                    # named servers: deleted (their files stay in the home) or only stopped
                    *(["--remove-named-servers=true"] if culler.boolean("removeNamedServers") else []),
                ],
                "api_token": secrets.string("cullerToken"),
            }
        )
        # it finds and stops idle servers (not users: it never culls users)
        roles.append(
            {
                "name": f"service-{culler_name}",
                "description": "Stops idle servers",
                "scopes": culler.strings("scopes"),
                "services": [culler_name],
            }
        )
    for s in own:
        declared.append(s.service)
        roles.append(s.role)
    c.JupyterHub.services = declared
    c.JupyterHub.load_roles = roles
