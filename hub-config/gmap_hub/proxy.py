"""GmapProxy: the stack's own configurable-http-proxy container (never started by the hub), whose
routes the hub checks every ``route_check_interval`` seconds.

The proxy keeps its routes in memory: when its process dies (the OOM killer, a crash) Docker starts
it again empty, and every user's server answers 404 until the hub adds the routes back. JupyterHub
checks the routes only at its own start and every ``last_activity_interval`` (300 s by default); the
check here asks the proxy for its routes (one request) and adds what is missing, so a restarted
proxy routes everyone again within one interval of answering. It is JupyterHub's own
``check_routes``, which also leaves pending servers alone and removes stale routes.
"""

from __future__ import annotations

from jupyterhub.proxy import ConfigurableHTTPProxy
from tornado.ioloop import PeriodicCallback
from traitlets import Integer


class GmapProxy(ConfigurableHTTPProxy):
    """ConfigurableHTTPProxy whose routes are checked (and restored) every ``route_check_interval``."""

    route_check_interval = Integer(
        5,
        min=0,
        config=True,
        help="Seconds between two checks of the proxy's routes (settings.json: hub.proxyRouteCheckSeconds); 0: never.",
    )

    _route_check = None
    _unreachable = False

    async def check_routes(self, user_dict, service_dict, routes=None):
        """JupyterHub's check; the first one (at the hub's start) starts the periodic check."""
        await super().check_routes(user_dict, service_dict, routes)
        if self._route_check is None and self.route_check_interval > 0:
            self._route_check = PeriodicCallback(self.check_routes_now, 1e3 * self.route_check_interval)
            self._route_check.start()

    async def check_routes_now(self) -> None:
        """One check; a proxy that does not answer (restarting) is reported once and tried again next time."""
        try:
            await self.check_routes(self.app.users, self.app._service_map)
        except Exception as e:  # noqa: BLE001 - any failure to reach the proxy waits for the next check
            if not self._unreachable:
                self.log.warning("The proxy does not answer (%s); its routes are checked again every %i s", e, self.route_check_interval)
            self._unreachable = True
            return
        if self._unreachable:
            self.log.info("The proxy answers again; its routes are checked")
        self._unreachable = False

    def stop(self):
        """Stops the periodic check (the proxy itself is not the hub's to stop)."""
        if self._route_check is not None:
            self._route_check.stop()
            self._route_check = None
