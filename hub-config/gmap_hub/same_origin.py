"""NativeAuthenticator's state-changing GET actions (authorize, discard) refused when another site
made the browser send them."""

from __future__ import annotations

import inspect
from urllib.parse import urlparse

from nativeauthenticator import handlers as native_handlers
from tornado import web


class _SameOriginOnly:
    """Mixin of NativeAuthenticator's GET actions that change state (authorize, discard): refuses a
    request another site made the browser send (a link or image on a foreign page), judged by the
    browser's Sec-Fetch-Site header, else by the Referer. Requests without either (scripts) pass:
    they carry no browser's cookies on someone else's behalf."""

    async def prepare(self):
        site = self.request.headers.get("Sec-Fetch-Site")
        referer = self.request.headers.get("Referer")
        if site is not None:
            foreign = site not in ("same-origin", "none")
        else:
            foreign = bool(referer) and urlparse(referer).netloc != self.request.host
        if foreign:
            raise web.HTTPError(403, "This action only works from the hub's own pages.")
        result = super().prepare()
        if inspect.isawaitable(result):
            await result


class SameOriginToggleAuthorizationHandler(_SameOriginOnly, native_handlers.ToggleAuthorizationHandler):
    pass


class SameOriginDiscardHandler(_SameOriginOnly, native_handlers.DiscardHandler):
    pass


#: NativeAuthenticator's handlers -> the same with the same-origin check.
SAME_ORIGIN_HANDLERS = {
    native_handlers.ToggleAuthorizationHandler: SameOriginToggleAuthorizationHandler,
    native_handlers.DiscardHandler: SameOriginDiscardHandler,
}
