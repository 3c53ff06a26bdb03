"""The hub's request handlers while its data volume is full (gmap_hub.data_space).

Every handler of the hub (JupyterHub's pages and API, the authenticators' pages) is given the
``WriteGuard`` mixin:

- a request that would change something (any method but GET, HEAD and OPTIONS; the spawn page,
  which starts a server on GET; an OAuth callback, which signs in) is refused with 503 and a message
  that says why, before it does anything: nothing half-done. A sign-in form shows the message on the
  login page itself;
- a signed-in user's activity is not recorded meanwhile: JupyterHub saves it while it checks who is
  asking, and a failed save would turn every request of every signed-in user and API client into
  "403 Missing or invalid credentials";
- a change that fails for want of space anyway (between two checks, or in a database on another
  volume) answers the same 503 and message in place of a 500 with a traceback, and holds the
  refusals until the next check.
"""

from __future__ import annotations

from jupyterhub.handlers.login import LoginHandler
from jupyterhub.handlers.pages import SpawnHandler
from oauthenticator.oauth2 import OAuthCallbackHandler
from tornado import web

from .data_space import FULL_MESSAGE, DataSpace, disk_full

#: Methods that change nothing.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Pages that change something on GET: the spawn page starts a server, an OAuth callback signs in.
CHANGING_PAGES = (SpawnHandler, OAuthCallbackHandler)


class WriteGuard:
    """Mixin of a hub handler: refuses changes while ``data_space`` is full."""

    data_space: DataSpace

    def _changes_something(self) -> bool:
        return self.request.method not in SAFE_METHODS or isinstance(self, CHANGING_PAGES)

    async def prepare(self):
        await super().prepare()
        if not (self._changes_something() and self.data_space.refuses_writes()):
            return
        if isinstance(self, LoginHandler) and self.request.method == "POST":
            self.set_status(503)
            self.finish(await self._render(login_error=FULL_MESSAGE, username=self.get_argument("username", "", strip=True)))
            return
        raise web.HTTPError(503, FULL_MESSAGE)

    def _record_activity(self, obj, timestamp=None):
        if self.data_space.full:
            return False
        return super()._record_activity(obj, timestamp)

    def write_error(self, status_code, **kwargs):
        exc_info = kwargs.get("exc_info")
        if exc_info and disk_full(exc_info[1]):
            self.db.rollback()
            self.data_space.write_failed(exc_info[1])
            status_code = 503
            self.set_status(status_code)
            kwargs["exc_info"] = (web.HTTPError, web.HTTPError(503, FULL_MESSAGE), exc_info[2])
        return super().write_error(status_code, **kwargs)
