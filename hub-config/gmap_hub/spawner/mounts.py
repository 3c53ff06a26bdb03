"""The user servers' mounts: docker Mount kwargs per user, and the per-user host directories a helper
container creates before the server (docs/architecture.md, "Contract between the program and the hub")."""

from __future__ import annotations

from pathlib import Path

from docker.types import DriverConfig
from tornado import web
from traitlets import Dict, HasTraits, List, Unicode, default

from .logs import CONTROL

#: Where the helper container that creates per-user host directories sees their fixed parent.
HOST_DIR_MOUNT = "/gmap-host"
#: The helper's command (``sh -c MKDIR_SCRIPT gmap-mkdir PARENT UID:GID DIR...``, as root): creates
#: each DIR (relative to PARENT, parents first) that does not exist, mode 0700, owned by UID:GID.
MKDIR_SCRIPT = Path(__file__).with_name("mkdir-user-dirs.sh").read_text(encoding="utf-8")
#: Lines of a failed helper's log shown in the spawn's error.
HELPER_ERROR_LINES = 20


class MountsMixin(HasTraits):
    """``mounts`` from ``mount_specs`` (``{username}`` becomes DockerSpawner's escaped user name) and
    ``create_host_dirs`` (called by ``create_object`` before the server)."""

    mount_specs = List(
        Dict(),
        config=True,
        help=(
            "Mounts of every notebook container: dicts with name, type (volume|bind), source, target,"
            " read_only, per_user, driver_options. {username} becomes the escaped user name."
        ),
    )
    volume_labels = Dict(Unicode(), config=True, help="Labels put on the per-user volumes Docker creates on first use.")
    volume_driver_options = Dict(
        Dict(),
        config=True,
        help="Volume driver options per mount name (mounts with driver_options); {username} is substituted.",
    )

    def _substitute_user(self, template: str) -> str:
        return template.replace("{username}", self.escaped_name)

    def _literal(self, text: str) -> str:
        # DockerSpawner formats Mount source/target with str.format (format_volume_name):
        # double the remaining braces so the already substituted value comes out unchanged.
        return text.replace("{", "{{").replace("}", "}}")

    def mount_kwargs(self, spec: dict) -> dict:
        """The docker Mount kwargs of one mount spec for this spawner's user."""
        kwargs = {
            "type": spec["type"],
            "source": self._literal(self._substitute_user(spec["source"])),
            "target": self._literal(self._substitute_user(spec["target"])),
            "read_only": bool(spec["read_only"]),
        }
        if spec["type"] == "volume" and spec["per_user"] and self.volume_labels:
            kwargs["labels"] = dict(self.volume_labels)
        if spec["type"] == "volume" and spec["driver_options"]:
            # the volume driver ("local": NFS/CIFS shares) creates the volume from these options on first
            # use; a volume plugin may need none
            driver = spec.get("driver") or "local"
            options = self.volume_driver_options.get(spec["name"])
            if options is None or (not options and driver == "local"):
                raise ValueError(f"mount {spec['name']!r} needs volume driver options, but none are configured")
            kwargs["driver_config"] = DriverConfig(driver, {k: self._substitute_user(v) for k, v in options.items()})
        return kwargs

    def user_mount_specs(self) -> list[dict]:
        """The specs of this user's mounts: those for everyone and those of the user's groups, each
        writable for a writer (an admin, a member of a writers' group) of a read-only mount. Read at
        each start: a membership change takes effect at the next one."""
        groups = {group.name for group in self.user.groups}
        specs = []
        for spec in self.mount_specs:
            if spec.get("groups") and not groups & set(spec["groups"]):
                continue
            writers = spec.get("writers")
            if spec["read_only"] and writers and ((writers["admins"] and self.user.admin) or groups & set(writers["groups"])):
                spec = {**spec, "read_only": False}
            specs.append(spec)
        return specs

    def current_mounts(self) -> list[dict]:
        """The docker Mount kwargs of this user's mounts (``user_mount_specs``)."""
        return [self.mount_kwargs(spec) for spec in self.user_mount_specs()]

    @default("mounts")
    def _default_mounts(self):
        # taken again at each start (GmapDockerSpawner.create_server)
        return self.current_mounts()

    def get_env(self):
        """The environment, with the variables of the user's team mounts and the writable mounts whose
        ownership docker-stacks' start-up fixes (CHOWN_EXTRA, as root, not recursive)."""
        env = super().get_env()
        specs = self.user_mount_specs()
        for spec in specs:
            env.update(spec.get("environment") or {})
        writable = [spec["target"] for spec in specs if not spec["read_only"]]
        if writable and "CHOWN_EXTRA" not in self.environment:
            env["CHOWN_EXTRA"] = ",".join(writable)
        return env

    def host_dirs(self) -> list[tuple[str, list[str]]]:
        """The per-user host directories of this spawner's user: (fixed parent, the directories
        below it from the one holding {username} down, relative to the parent) per bind mount."""
        found = []
        for spec in self.user_mount_specs():
            source = spec["source"]
            if spec["type"] != "bind" or not spec["per_user"] or "{username}" not in source:
                continue
            cut = source.rfind("/", 0, source.index("{username}"))
            parts = self._substitute_user(source[cut + 1 :]).split("/")
            if cut <= 0 or any(part in ("", ".", "..") for part in parts):
                raise ValueError(f"mount {spec['name']!r}: cannot create {source} below a fixed directory")
            found.append((source[:cut], ["/".join(parts[: i + 1]) for i in range(len(parts))]))
        return found

    async def create_host_dirs(self):
        """Creates the missing per-user host directories: Docker refuses a missing bind source, and the
        hub sees only the Docker socket, not the host's files. A helper container of the notebook
        image, labelled like the user's containers, without network, as root, bind-mounts the fixed
        parent and runs MKDIR_SCRIPT; it is removed afterwards."""
        owner = f"{self.environment['NB_UID']}:{self.environment['NB_GID']}"
        for parent, dirs in self.host_dirs():
            helper = await self.docker(
                "create_container",
                image=self.image,
                entrypoint=["sh", "-c", MKDIR_SCRIPT, "gmap-mkdir"],
                command=[HOST_DIR_MOUNT, owner, *dirs],
                user="0:0",
                labels=dict(self.extra_create_kwargs.get("labels", {})),
                network_disabled=True,
                host_config={
                    "Mounts": [{"Type": "bind", "Source": parent, "Target": HOST_DIR_MOUNT, "ReadOnly": False}],
                    "NetworkMode": "none",
                },
            )
            try:
                await self.docker("start", helper["Id"])
                result = await self.docker("wait", helper["Id"], timeout=60)
                if result["StatusCode"] != 0:
                    log = await self.docker("logs", helper["Id"], tail=HELPER_ERROR_LINES)
                    output = CONTROL.sub(" ", log.decode("utf-8", "replace"))[-1000:].strip()
                    raise web.HTTPError(500, "%s", f"Could not create {parent}/{dirs[-1]} on the Docker host: {output}")
            finally:
                await self.docker("remove_container", helper["Id"], force=True)
