"""The names of a server's Docker objects: a user's default server and their named servers
(settings.json: spawner.namedServers). A named server's container (or service) and network carry
the user's escaped name, ``--`` and the server's escaped name; ``--`` never occurs in an escaped
name (every ``-`` there begins a hex escape), so two servers never share a name."""

from __future__ import annotations

import hashlib

from traitlets import HasTraits, Unicode, default

#: Docker's longest service name (a DNS label): swarm mode bounds its names to it.
SERVICE_NAME_MAX = 63


class ServerNamesMixin(HasTraits):
    """``object_name`` and ``server_template`` for the default server and named ones."""

    named_name_template = Unicode(
        "",
        config=True,
        help="Name of a named server's container (or service): {username} and {servername} become the escaped names.",
    )
    named_network_template = Unicode("", config=True, help="Name of a named server's own network, as named_name_template.")

    @property
    def escaped_server_name(self) -> str:
        """The server's name escaped as the user's (DockerSpawner lower-cases it first, so that
        "GIS" and "gis" would share a container)."""
        return self.escape(self.name)

    def template_namespace(self):
        namespace = super().template_namespace()
        namespace["servername"] = self.escaped_server_name
        return namespace

    def server_template(self, template: str, named_template: str) -> str:
        """``template`` for the default server, ``named_template`` for a named one, with the names in."""
        chosen = named_template if self.name else template
        return chosen.replace("{username}", self.escaped_name).replace("{servername}", self.escaped_server_name)

    @default("object_name")
    def _object_name_default(self):
        return self.server_template(self.name_template, self.named_name_template)


def bounded(name: str, limit: int = SERVICE_NAME_MAX) -> str:
    """``name``, or past ``limit`` characters its beginning and a hash of the whole (still one name per server)."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"{name[: limit - len(digest) - 1]}-{digest}"
