"""GmapDockerSpawner: DockerSpawner with the hub's image menu, per-user mounts and start hook.

Everything comes from configuration set by :mod:`gmap_hub.config`:

- ``images`` / ``default_image_name``: the image catalog. With several images DockerSpawner's
  ``allowed_images`` (display name -> image) is set too; this class renders its own Bootstrap 5
  form and accepts a choice given as short name, display name or image reference, rejecting
  anything outside ``allowed_images`` with HTTP 400.
- ``mount_specs``: the settings' mounts. They become DockerSpawner ``mounts`` (docker Mount
  kwargs) per spawner, with ``{username}`` replaced by DockerSpawner's escaped user name;
  per-user volumes carry ``volume_labels`` and, when asked, a local-driver config built from
  ``volume_driver_options`` (the secrets file).
- ``start_hook``: a script run as the notebook user before the server starts. It travels in the
  ``GMAP_START_HOOK`` environment variable (base64) and the image's command is wrapped in a static
  ``sh -c`` script that runs it and fails the start when it fails.

A failing start hook fails the spawn at once, with the hook's last output lines. JupyterHub 5.5
does not watch the container after ``Spawner.start`` returns: ``User._wait_up`` only polls the
server's URL until ``http_timeout``, and the container (``remove=True``: Docker's AutoRemove) and
its log are gone as soon as it exits. So the wrapper reports the hook's outcome in the log, and on
failure keeps the container (sleeping, at most 60 s) so that its log can still be read;
``start`` waits for that outcome (reading the log tail and polling the container every
``start_hook_poll_interval`` seconds) before it returns. A failure or an early exit raises an
HTTPError whose message (``jupyterhub_message``) is the end of the hook's output, which JupyterHub
shows on the spawn-pending page and returns from the API; JupyterHub then stops and removes the
container. The hook's run time counts against ``start_timeout``, not ``http_timeout``.
"""

from __future__ import annotations

import asyncio
import base64
import html
import re

from docker.errors import APIError
from docker.types import DriverConfig
from dockerspawner import DockerSpawner
from tornado import web
from traitlets import Dict, Float, List, Unicode, default

from .forms import image_options_form

#: Environment variable that carries the start hook (base64) into the container.
START_HOOK_ENV = "GMAP_START_HOOK"

#: Log lines the wrapper writes when the hook starts, succeeded and failed.
HOOK_STARTED = "gmap-start: running the start hook"
HOOK_SUCCEEDED = "gmap-start: the start hook succeeded"
HOOK_FAILED = "gmap-start: the start hook failed"
#: Log lines searched for the hook's outcome at each poll (the server's start-up output may
#: follow the success line), and the last lines of the hook's output shown on failure.
HOOK_SCAN_LINES = 1000
HOOK_ERROR_LINES = 20
HOOK_ERROR_LINE_CHARS = 300
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: The command wrapper (``sh -c WRAPPER gmap-start CMD...``): runs the hook, then execs CMD.
#: Under docker-stacks' start.sh (the images' ENTRYPOINT) CMD runs as the notebook user, after the
#: ownership fixes, so the hook does too. The hook's outcome is logged for ``start`` (see above).
START_HOOK_WRAPPER = r"""set -eu
if [ -z "${GMAP_START_HOOK:-}" ]; then
  echo "$0: GMAP_START_HOOK is empty; refusing to start without the start hook" >&2
  exit 1
fi
hook="$(mktemp "${TMPDIR:-/tmp}/gmap-start-hook.XXXXXX")"
printf '%s' "$GMAP_START_HOOK" | base64 -d > "$hook"
chmod 0700 "$hook"
unset GMAP_START_HOOK
echo "$0: running the start hook as uid $(id -u)" >&2
"$hook" || {
  status=$?
  rm -f "$hook"
  echo "$0: the start hook failed with exit status $status; not starting the server" >&2
  sleep 60  # until the hub, which reads this log, stops the container
  exit "$status"
}
rm -f "$hook"
echo "$0: the start hook succeeded; starting the server" >&2
exec "$@"
"""


class GmapDockerSpawner(DockerSpawner):
    """DockerSpawner configured from the hub's settings (see module docstring)."""

    images = List(
        Dict(),
        config=True,
        help='Image catalog: [{"name": short name, "displayName": label, "image": reference}].',
    )
    default_image_name = Unicode(
        "", config=True, help="Short name of the image preselected in the options form."
    )
    mount_specs = List(
        Dict(),
        config=True,
        help=(
            "Mounts of every notebook container: dicts with name, type (volume|bind), source, target,"
            " read_only, per_user, driver_options. {username} becomes the escaped user name."
        ),
    )
    volume_labels = Dict(
        Unicode(), config=True, help="Labels put on the per-user volumes Docker creates on first use."
    )
    volume_driver_options = Dict(
        Dict(),
        config=True,
        help="Local volume driver options per mount name (mounts with driver_options); {username} is substituted.",
    )
    start_hook = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Shell script run as the notebook user in the container before the server starts.",
    )
    start_hook_poll_interval = Float(
        1.0, config=True, help="Seconds between two looks at the start hook's outcome while the server starts."
    )

    # -- mounts -----------------------------------------------------------------------------------
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
        if spec["type"] == "volume" and spec["per_user"]:
            if self.volume_labels:
                kwargs["labels"] = dict(self.volume_labels)
            if spec["driver_options"]:
                options = self.volume_driver_options.get(spec["name"])
                if not options:
                    raise ValueError(f"mount {spec['name']!r} needs volume driver options, but none are configured")
                kwargs["driver_config"] = DriverConfig(
                    "local", {k: self._substitute_user(v) for k, v in options.items()}
                )
        return kwargs

    @default("mounts")
    def _default_mounts(self):
        return [self.mount_kwargs(spec) for spec in self.mount_specs]

    # -- image choice -----------------------------------------------------------------------------
    @default("options_form")
    def _default_options_form(self):
        if len(self.images) <= 1:
            return ""
        offered = set(self._offered_images().values())
        return image_options_form(
            [entry for entry in self.images if entry["image"] in offered], self.default_image_name
        )

    def _offered_images(self) -> dict:
        """Every accepted spelling of a choice (display name, short name, reference) -> image."""
        allowed = self._get_allowed_images() or {}
        if allowed:
            catalog = [entry for entry in self.images if entry["image"] in allowed.values()]
        else:
            # a single image: no menu, but naming that image is harmless
            catalog = [entry for entry in self.images if entry["image"] == self.image]
        aliases = dict(allowed)
        for entry in catalog:
            for alias in (entry["image"], entry["name"], entry["displayName"]):
                aliases.setdefault(alias, entry["image"])
        for image in allowed.values():
            aliases.setdefault(image, image)
        return aliases

    async def check_allowed(self, image):
        """Resolves a requested image to an allowed image reference or raises HTTP 400."""
        if self._get_allowed_images() == "*":
            return await super().check_allowed(image)
        offered = self._offered_images()
        if not isinstance(image, str):
            raise web.HTTPError(400, "The image choice must be a string")
        if image not in offered:
            labels = [e["displayName"] for e in self.images if e["image"] in set(offered.values())]
            raise web.HTTPError(
                400,
                f"Image {image!r} is not offered on this hub. Choose one of: {', '.join(labels)}.",
            )
        return offered[image]

    @default("apply_user_options")
    def _default_apply_user_options(self):
        async def validate_image_choice(spawner, user_options):
            # checked before the start so a bad choice is reported on the form;
            # DockerSpawner.start applies it
            if "image" in user_options:
                await spawner.check_allowed(user_options["image"])

        return validate_image_choice

    # -- start hook -------------------------------------------------------------------------------
    def get_env(self):
        env = super().get_env()
        if self.start_hook:
            env[START_HOOK_ENV] = base64.b64encode(self.start_hook.encode("utf-8")).decode("ascii")
        return env

    async def get_command(self):
        """DockerSpawner's command (``Spawner.cmd`` or the image's Cmd, plus args), wrapped when a
        start hook is configured."""
        cmd = await super().get_command()
        if not self.start_hook:
            return cmd
        return ["sh", "-c", START_HOOK_WRAPPER, "gmap-start", *cmd]

    async def start(self):
        """DockerSpawner's start; with a start hook, returns only once the hook succeeded."""
        address = await super().start()
        if self.start_hook:
            await self._wait_for_start_hook()
        return address

    async def _wait_for_start_hook(self):
        """Waits for the wrapper's outcome line; raises the hook's failure, or the container's
        exit before the outcome, as an HTTPError with the end of the hook's output."""
        while True:
            lines = await self._log_lines(HOOK_SCAN_LINES)
            outcome = [line for line in lines if line.startswith((HOOK_SUCCEEDED, HOOK_FAILED))]
            if outcome and outcome[-1].startswith(HOOK_SUCCEEDED):
                return
            if outcome:
                raise self._start_hook_error("The start hook failed", lines)
            if await self.poll() is not None:
                raise self._start_hook_error("The server's container stopped before the start hook finished", lines)
            await asyncio.sleep(self.start_hook_poll_interval)

    async def _log_lines(self, tail: int) -> list[str]:
        """The last lines of the container's log (stdout and stderr); none once it is gone."""
        try:
            log = await self.docker("logs", self.container_id, stdout=True, stderr=True, tail=tail)
        except APIError:
            return []
        return log.decode("utf-8", "replace").splitlines()

    def _start_hook_error(self, summary: str, lines: list[str]) -> web.HTTPError:
        """The spawn failure users see: the last lines logged since the hook started, without
        control characters or the server's API token, each line and their number bounded."""
        started = [i for i, line in enumerate(lines) if line.startswith(HOOK_STARTED)]
        if started:
            lines = lines[started[-1] + 1 :]
        shown = []
        for line in lines:
            line = _CONTROL.sub(" ", _ANSI.sub("", line))
            if self.api_token:
                line = line.replace(self.api_token, "[hidden]")
            line = line.strip()[:HOOK_ERROR_LINE_CHARS]
            if line:
                shown.append(line)
        output = "\n".join(shown[-HOOK_ERROR_LINES:])
        message = f"{summary}. Its last output:\n{output}" if output else f"{summary} without output."
        error = web.HTTPError(500, "%s", message)
        error.jupyterhub_message = message
        error.jupyterhub_html_message = (
            f"<p>{html.escape(summary)}. Its last output:</p><pre>{html.escape(output)}</pre>"
            if output
            else html.escape(message)
        )
        return error
