"""Monitoring (settings.json ``monitoring``, present with monitoring.enabled): the hub's side.

- the two services of the monitoring, each with its token (secrets.json ``monitoringTokens``) and a
  role ``service-<name>`` of its scopes: Prometheus reads the hub's metrics with one
  (``prometheusService``), the exporter lists users, groups and servers with the other
  (``exporterService``); :func:`~gmap_hub.configure.services.configure_services` declares them
  after the operator's services and reserves their names;
- the dashboards, served by the hub itself to admins at ``<base_url>hub/monitoring/``
  (:mod:`gmap_hub.monitoring.dashboards`), validated here: a wrong dashboard fails the hub start.

Without the section nothing of this is configured.
"""

from __future__ import annotations

from ..monitoring.dashboards import Monitoring, dashboard_handlers, load_dashboards
from ..settings import Section
from .services import HubService

#: What each service of the monitoring is for: settings key -> (key in secrets.json monitoringTokens, purpose).
SERVICES = {
    "prometheusService": ("prometheus", "Prometheus of the monitoring (reads the hub's metrics)"),
    "exporterService": ("exporter", "the exporter of the monitoring (lists users, groups and servers)"),
}


def configure_monitoring(c, monitoring: Section, secrets: Section) -> list[HubService]:
    """Mounts the dashboards (``GmapHub.dashboard_handlers``) and returns the monitoring's services
    with their roles, for :func:`~gmap_hub.configure.services.configure_services`."""
    tokens = secrets.section("monitoringTokens")
    own = []
    for key, (token_key, purpose) in SERVICES.items():
        svc = monitoring.section(key)
        name = svc.string("name")
        if name in {s.service["name"] for s in own}:
            raise svc.error("name", f"service {name!r} is declared twice")
        own.append(
            HubService(
                service={"name": name, "api_token": tokens.string(token_key)},
                role={"name": f"service-{name}", "description": f"Scopes of {purpose}", "scopes": svc.strings("scopes"), "services": [name]},
                purpose=purpose,
            )
        )
    c.GmapHub.dashboard_handlers = dashboard_handlers(
        Monitoring(
            dashboards=load_dashboards(),
            prometheus_url=monitoring.string("prometheusUrl"),
            chart_js_file=monitoring.string("chartJsFile"),
            scrape_interval=monitoring.integer("scrapeIntervalSeconds"),
        )
    )
    return own
