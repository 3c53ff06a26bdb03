"""The hub's services: the operator's (each with its token and a role of its scopes) and the idle
culler (its service name and scopes from settings.json ``culler``)."""

from __future__ import annotations

import sys

from ..settings import Section


def configure_services(c, services: list[Section], culler: Section, secrets: Section) -> None:
    """Sets ``JupyterHub.services`` and the services' roles (``JupyterHub.load_roles``)."""
    culler_name = culler.string("service")
    declared, roles = [], []
    tokens = secrets.section("serviceTokens") if services else None
    for svc in services:
        name = svc.string("name")
        if name == culler_name:
            raise svc.error("name", f"{culler_name!r} is reserved for the idle culler")
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
    c.JupyterHub.services = declared
    c.JupyterHub.load_roles = roles
