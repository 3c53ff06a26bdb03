"""The start of a server: the start hook (its wrapper, and its outcome read from the server's log),
the wait until the server answers, and the error users see when the start fails.

JupyterHub does not watch the container after ``Spawner.start`` returns (it only polls the server's
URL), and the container (``remove=True``) and its log are gone as soon as it exits. So ``start``
returns only once the server answers, and fails at once, with the end of the output, when the hook
failed or the server stopped.
"""

from __future__ import annotations

import asyncio
import base64
import html
from pathlib import Path

from docker.errors import APIError
from dockerspawner import DockerSpawner
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient
from traitlets import Float, HasTraits, Unicode

from .logs import ANSI, CONTROL

#: Environment variable that carries the start hook (base64) into the container.
START_HOOK_ENV = "GMAP_START_HOOK"
#: The command wrapper (``sh -c WRAPPER gmap-start CMD...``): runs the hook, then execs CMD.
#: Under docker-stacks' start.sh (the images' ENTRYPOINT) CMD runs as the notebook user, after the
#: ownership fixes, so the hook does too. It logs the hook's outcome; after a failure it keeps the
#: container (and so its log) for at most 60 s, until the hub has read the log and stops it.
START_HOOK_WRAPPER = Path(__file__).with_name("start-hook.sh").read_text(encoding="utf-8")

#: Log lines the wrapper writes when the hook starts, succeeded and failed.
HOOK_STARTED = "gmap-start: running the start hook"
HOOK_SUCCEEDED = "gmap-start: the start hook succeeded"
HOOK_FAILED = "gmap-start: the start hook failed"
#: Log lines searched for the hook's outcome at each poll (the server's start-up output may
#: follow the success line), and the last lines of the hook's output shown on failure.
HOOK_SCAN_LINES = 1000
HOOK_ERROR_LINES = 20
HOOK_ERROR_LINE_CHARS = 300


class StartupMixin(HasTraits):
    """``get_env`` and ``get_command`` carry the start hook; ``_wait_until_up`` (called by ``start``)
    waits for the server and watches the container meanwhile."""

    start_hook = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Shell script run as the notebook user in the container before the server starts.",
    )
    start_check_interval = Float(1.0, config=True, help="Seconds between two looks at the container (and the start hook's outcome) while the server starts.")
    ready_poll_interval = Float(0.1, config=True, help="Seconds between two requests to a starting server.")

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

    async def _answers(self, url: str) -> bool:
        """True when the server answers HTTP at all (as JupyterHub's own wait counts it)."""
        try:
            await AsyncHTTPClient().fetch(url, request_timeout=2, raise_error=False, follow_redirects=False)
            return True
        except Exception:
            return False

    async def _wait_until_up(self, address: tuple[str, int], started: float) -> None:
        """Waits for the server to answer, asking it every ``ready_poll_interval`` seconds, and looks at
        the container every ``start_check_interval`` seconds meanwhile: a start hook that failed,
        or a container that stopped, fails the spawn at once with the end of its output.

        JupyterHub's own wait (``User._wait_up``, after ``start`` returns) backs off to seconds
        between two requests, which adds up to a second or more to a spawn; after this wait its
        first request succeeds. The wait stays within ``start_timeout`` and ``http_timeout``; when
        it gives up, ``start`` returns and JupyterHub's wait goes on as usual. With a start hook, the
        server answering means the hook succeeded (the wrapper starts the server only then).
        """
        ip, port = address
        base_url = self.server.base_url if self.server else f"/user/{self.user.name}/"
        url = f"http://{ip}:{port}{url_path_join(base_url, 'api')}"
        loop = asyncio.get_running_loop()
        deadline = min(started + self.start_timeout - 2, loop.time() + self.http_timeout)
        hook_done = not self.start_hook
        next_look = loop.time() + self.start_check_interval
        while loop.time() < deadline:
            if await self._answers(url):
                return
            if loop.time() >= next_look:
                hook_done = await self._look_at_container(hook_done)
                next_look = loop.time() + self.start_check_interval
            await asyncio.sleep(self.ready_poll_interval)

    async def _look_at_container(self, hook_done: bool) -> bool:
        """Raises the start hook's failure or the container's early exit; returns whether the
        hook is known to have succeeded."""
        lines = []
        if not hook_done:
            lines = await self._log_lines(HOOK_SCAN_LINES)
            outcome = [line for line in lines if line.startswith((HOOK_SUCCEEDED, HOOK_FAILED))]
            if outcome and outcome[-1].startswith(HOOK_FAILED):
                raise self._start_error("The start hook failed", lines)
            hook_done = bool(outcome)
        stopped = await self._stopped()
        if stopped:
            lines = await self._log_lines(HOOK_SCAN_LINES)
            what = "the start hook finished" if not hook_done else "it answered"
            raise self._start_error(f"{stopped} before {what}", lines)
        return hook_done

    async def _stopped(self) -> str | None:
        """What ended the server ("The server's container stopped"), None while it runs."""
        if await DockerSpawner.poll(self) is not None:
            return "The server's container stopped"
        return None

    async def _log_lines(self, tail: int) -> list[str]:
        """The last lines of the container's log (stdout and stderr); none once it is gone."""
        try:
            log = await self.docker("logs", self.container_id, stdout=True, stderr=True, tail=tail)
        except APIError:
            return []
        return log.decode("utf-8", "replace").splitlines()

    def _start_error(self, summary: str, lines: list[str] | None) -> web.HTTPError:
        """The spawn failure users see (``jupyterhub_message``: on the spawn-pending page and in the
        API): the last lines logged since the hook started, without control characters or the
        server's API token, each line and their number bounded (None: the server never ran, the
        summary says all). JupyterHub then stops and removes the container."""
        if lines is None:
            message = f"{summary}."
            error = web.HTTPError(500, "%s", message)
            error.jupyterhub_message = message
            error.jupyterhub_html_message = html.escape(message)
            return error
        started = [i for i, line in enumerate(lines) if line.startswith(HOOK_STARTED)]
        if started:
            lines = lines[started[-1] + 1 :]
        shown = []
        for line in lines:
            line = CONTROL.sub(" ", ANSI.sub("", line))
            if self.api_token:
                line = line.replace(self.api_token, "[hidden]")
            line = line.strip()[:HOOK_ERROR_LINE_CHARS]
            if line:
                shown.append(line)
        output = "\n".join(shown[-HOOK_ERROR_LINES:])
        message = f"{summary}. Its last output:\n{output}" if output else f"{summary} without output."
        error = web.HTTPError(500, "%s", message)
        error.jupyterhub_message = message
        error.jupyterhub_html_message = f"<p>{html.escape(summary)}. Its last output:</p><pre>{html.escape(output)}</pre>" if output else html.escape(message)
        return error
