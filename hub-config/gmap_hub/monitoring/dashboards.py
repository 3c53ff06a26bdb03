"""The monitoring dashboards, served by the hub itself at ``<base_url>hub/monitoring/``, to admins only.

The dashboards are kept here as code: each ``dashboards/<name>.json`` has a title, an optional
description and its panels, each with a title, a unit (:data:`UNITS`), an optional description
and one or more series, each a label and a PromQL query. A label may name labels of the query's
result in braces (``{user}``): a query answering several series (the top users) draws one line
each. :func:`load_dashboards` validates every file when the hub starts; a wrong one fails the
start with the file and the key, like a wrong settings file.

Everything under ``monitoring/`` needs the scope ``admin-ui`` (JupyterHub's admin role has it),
checked by JupyterHub's own ``needs_scope``: a signed-in user without it gets 403. A visitor who is
not signed in is sent to the login page by the two pages, and gets 403 from the rest:

- ``monitoring/``: the list of the dashboards;
- ``monitoring/<name>``: a dashboard, drawn in the browser by ``static/dashboard.js`` with Chart.js
  (one line chart per panel over the last 6 hours, or 1 h, 24 h, 7 days; refreshed every 30 s);
- ``monitoring/chart.js``: Chart.js (its UMD build), the file settings.json ``monitoring.chartJsFile``
  names (the program uploads it);
- ``monitoring/static/dashboard.js``: the dashboards' own script (``static/`` beside this module);
- ``monitoring/api/query_range``: Prometheus's ``/api/v1/query_range`` at settings.json
  ``monitoring.prometheusUrl``, asked with the parameters query, start, end and step only, and
  answered with Prometheus's JSON (errors of its own in the same form). It is one of JupyterHub's
  API handlers, so a script's request (a browser's ``Sec-Fetch-Mode`` other than navigate) must
  carry the page's XSRF token (header ``X-XSRFToken``, ``window.jhdata.xsrf_token`` of page.html),
  as on JupyterHub's own REST API: a script of another page of the hub's origin (a user server's,
  under ``/user/<name>/``) that an admin opens cannot read the measurements with the admin's
  cookie. Its queries go through a client of its own (:data:`QUERY_CLIENTS` at once), never
  tornado's shared one, which carries the hub's calls to the proxy.

The pages extend JupyterHub's ``page.html``, so they have the hub's navigation bar.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.handlers.base import BaseHandler
from jupyterhub.scopes import needs_scope
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.httputil import url_concat
from tornado.ioloop import IOLoop

from ..settings import SettingsError, schema_problem

HERE = os.path.dirname(os.path.abspath(__file__))
#: The dashboards, one JSON file each; the file name (without .json) is the dashboard's URL.
DASHBOARD_DIR = os.path.join(HERE, "dashboards")
#: The dashboards' own files (served at monitoring/static/).
STATIC_DIR = os.path.join(HERE, "static")

#: The units a panel may have: the page writes values as B/KiB/MiB/GiB/TiB, ms/s/min/h, plain numbers or %.
UNITS = ("bytes", "seconds", "count", "percent")
#: The parameters of Prometheus's range query that the dashboards' API passes on (no other).
QUERY_PARAMETERS = ("query", "start", "end", "step")
#: Seconds the hub waits for Prometheus to connect, and to answer a query.
CONNECT_TIMEOUT = 5
QUERY_TIMEOUT = 30
#: Queries to Prometheus under way at once (a dashboard asks about 17 at each refresh; the others
#: wait their turn in the client's queue).
QUERY_CLIENTS = 4
#: A dashboard's name (its file name and URL).
DASHBOARD_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
#: A label of the query's result named in a series' label.
LABEL_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
PROMETHEUS_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: An HTTP client's error that says the request timed out.
TIMED_OUT = re.compile(r"time ?out|timed out", re.IGNORECASE)

_TEXT = {"type": "string", "minLength": 1}
#: The form of a dashboard file.
DASHBOARD_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "panels"],
    "properties": {
        "title": _TEXT,
        "description": _TEXT,
        "panels": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["title", "unit", "series"],
                "properties": {
                    "title": _TEXT,
                    "description": _TEXT,
                    "unit": {"enum": list(UNITS)},
                    "series": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["label", "query"],
                            "properties": {"label": _TEXT, "query": _TEXT},
                        },
                    },
                },
            },
        },
    },
}


class DashboardError(SettingsError):
    """A dashboard file is unreadable or not of the dashboards' form: the hub does not start."""


def check_dashboard(data, path: str) -> None:
    """Checks one dashboard (``path`` names it in errors); the first problem raises
    :class:`DashboardError` with the file and the key, e.g.
    ``.../hub.json: key panels[2].unit: 'GB' is not one of ['bytes', 'seconds', 'count', 'percent']``."""
    found = schema_problem(DASHBOARD_SCHEMA, data)
    if found is not None:
        key, problem = found
        raise DashboardError(f"{path}: key {key}: {problem}")
    for p, panel in enumerate(data["panels"]):
        for s, series in enumerate(panel["series"]):
            for name in LABEL_PLACEHOLDER.findall(series["label"]):
                if not PROMETHEUS_LABEL.match(name):
                    raise DashboardError(f"{path}: key panels[{p}].series[{s}].label: {{{name}}} is not the name of a label of the query's result")


def load_dashboards(directory: str | None = None) -> dict[str, dict]:
    """Every dashboard of ``directory`` (default: :data:`DASHBOARD_DIR`), by name (file name without
    .json), each checked by :func:`check_dashboard`; a file that cannot be read or is not valid JSON
    fails the same way."""
    directory = directory or DASHBOARD_DIR
    dashboards = {}
    for file in sorted(os.listdir(directory)):
        if not file.endswith(".json"):
            continue
        path = os.path.join(directory, file)
        name = file[: -len(".json")]
        if not DASHBOARD_NAME.match(name):
            raise DashboardError(f"{path}: the file name (the dashboard's URL) may have lower-case letters, digits and dashes only")
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except json.JSONDecodeError as e:
            raise DashboardError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}") from None
        except OSError as e:
            raise DashboardError(f"{path}: cannot be read: {e.strerror}") from None
        check_dashboard(data, path)
        dashboards[name] = data
    if not dashboards:
        raise DashboardError(f"{directory}: no dashboard (<name>.json)")
    return dashboards


@dataclass(frozen=True)
class Monitoring:
    """What the dashboards' handlers serve: the dashboards and where Prometheus and Chart.js are."""

    dashboards: dict[str, dict]
    #: Prometheus's URL on the monitoring network (settings.json monitoring.prometheusUrl).
    prometheus_url: str
    #: Chart.js's UMD build in the hub container (settings.json monitoring.chartJsFile).
    chart_js_file: str
    #: Seconds between Prometheus's measurements: the finest step the pages ask for.
    scrape_interval: int = 15
    connect_timeout: float = CONNECT_TIMEOUT
    query_timeout: float = QUERY_TIMEOUT
    static_dir: str = field(default=STATIC_DIR)
    _client: AsyncHTTPClient | None = field(default=None, init=False, repr=False, compare=False)

    def http_client(self) -> AsyncHTTPClient:
        """The client the queries to Prometheus go through: the monitoring's own, of
        :data:`QUERY_CLIENTS` connections, made at the first query on the hub's loop (and never
        closed: it lives as long as the hub). Tornado's shared client (``AsyncHTTPClient()``, 10 at
        once) carries the hub's own calls to the proxy, which a dashboard's refresh must not queue."""
        client = self._client
        if client is None or client.io_loop is not IOLoop.current():
            client = AsyncHTTPClient(force_instance=True, max_clients=QUERY_CLIENTS)
            # frozen for its settings; the client is made once, on first use
            object.__setattr__(self, "_client", client)
        return client


class MonitoringHandler(BaseHandler):
    """Base of the dashboards' handlers: ``monitoring`` (:class:`Monitoring`) is their argument."""

    monitoring: Monitoring

    def initialize(self, monitoring: Monitoring) -> None:
        super().initialize()
        self.monitoring = monitoring

    def monitoring_url(self, path: str = "") -> str:
        """The URL of ``monitoring/<path>`` under the hub, e.g. ``/hub/monitoring/chart.js``."""
        return url_path_join(self.hub.base_url, "monitoring", path) if path else url_path_join(self.hub.base_url, "monitoring/")

    def error_message(self, status_code: int, exc_info) -> str:
        """What went wrong, for the handlers that answer scripts or JSON rather than pages."""
        exception = exc_info[1] if exc_info else None
        if isinstance(exception, web.HTTPError) and exception.log_message:
            return exception.log_message % exception.args if exception.args else exception.log_message
        return self._reason

    def send_script(self, path: str, missing: str) -> None:
        """Answers the JavaScript file ``path`` (revalidated by its ETag); 404 with ``missing`` when it is not there."""
        try:
            with open(path, "rb") as f:
                content = f.read()
        except FileNotFoundError:
            raise web.HTTPError(404, "%s", missing) from None
        self.set_header("Content-Type", "text/javascript; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(content)


class DashboardIndexHandler(MonitoringHandler):
    """``monitoring/``: the list of the dashboards."""

    @web.authenticated
    @needs_scope("admin-ui")
    async def get(self):
        dashboards = [
            {"url": self.monitoring_url(name), "title": d["title"], "description": d.get("description", "")} for name, d in self.monitoring.dashboards.items()
        ]
        html = await self.render_template("gmap-monitoring.html", dashboards=dashboards, usage_url=url_path_join(self.hub.base_url, "usage"))
        self.finish(html)


class DashboardPageHandler(MonitoringHandler):
    """``monitoring/<name>``: one dashboard; its panels are drawn by ``static/dashboard.js``."""

    @web.authenticated
    @needs_scope("admin-ui")
    async def get(self, name):
        dashboard = self.monitoring.dashboards.get(name)
        if dashboard is None:
            raise web.HTTPError(404, "There is no dashboard %r.", name)
        page = {
            "panels": dashboard["panels"],
            "queryUrl": self.monitoring_url("api/query_range"),
            "chartJsUrl": self.monitoring_url("chart.js"),
            "minStepSeconds": self.monitoring.scrape_interval,
        }
        html = await self.render_template(
            "gmap-monitoring-dashboard.html",
            dashboard=dashboard,
            dashboard_config=json.dumps(page),
            monitoring_url=self.monitoring_url(),
            script_url=self.monitoring_url("static/dashboard.js"),
        )
        self.finish(html)


class ScriptHandler(MonitoringHandler):
    """A script: its errors are plain text (what a page's script tag or the browser's console shows)."""

    def write_error(self, status_code, **kwargs):
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.finish(self.error_message(status_code, kwargs.get("exc_info")) + "\n")


class ChartJsHandler(ScriptHandler):
    """``monitoring/chart.js``: Chart.js's UMD build, uploaded by the program."""

    @needs_scope("admin-ui")
    def get(self):
        path = self.monitoring.chart_js_file
        self.send_script(path, f"Chart.js is not at {path} (settings.json monitoring.chartJsFile); the program uploads it.")


class DashboardScriptHandler(ScriptHandler):
    """``monitoring/static/dashboard.js``: the script that draws a dashboard's panels."""

    @needs_scope("admin-ui")
    def get(self):
        self.send_script(os.path.join(self.monitoring.static_dir, "dashboard.js"), "dashboard.js is missing from the hub image.")


class QueryRangeHandler(MonitoringHandler, APIHandler):
    """``monitoring/api/query_range``: a range query to Prometheus, answered with its JSON; the
    hub's own errors have Prometheus's form too (``{"status": "error", "errorType", "error"}``).

    As JupyterHub's API handlers: the XSRF token is checked on GET too (a script's request with the
    cookie needs the page's token; a token-authenticated one does not), and the answers carry the
    Content-Security-Policy ``frame-ancestors 'none'; ...; default-src 'none'``."""

    @needs_scope("admin-ui")
    async def get(self):
        params = {}
        for key in QUERY_PARAMETERS:
            value = self.get_query_argument(key, "")
            if not value:
                raise web.HTTPError(400, "The parameter %s is missing.", key)
            params[key] = value
        url = url_concat(url_path_join(self.monitoring.prometheus_url, "api/v1/query_range"), params)
        try:
            response = await self.monitoring.http_client().fetch(
                url,
                connect_timeout=self.monitoring.connect_timeout,
                request_timeout=self.monitoring.query_timeout,
                follow_redirects=False,
                raise_error=False,
            )
        except (HTTPClientError, OSError) as e:
            self.log.warning("Prometheus at %s did not answer a dashboard's query: %s", self.monitoring.prometheus_url, e)
            # tornado's own client says "Timeout ...", the curl client "... timed out ..."
            if TIMED_OUT.search(str(e)):
                raise web.HTTPError(504, "Prometheus did not answer in time (%s).", e) from None
            raise web.HTTPError(502, "Prometheus cannot be reached (%s).", e) from None
        if not response.headers.get("Content-Type", "").startswith("application/json"):
            raise web.HTTPError(502, "Prometheus answered HTTP %d without JSON.", response.code)
        self.set_status(response.code)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(response.body)

    def write_error(self, status_code, **kwargs):
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": "error", "errorType": "hub", "error": self.error_message(status_code, kwargs.get("exc_info"))}))


def dashboard_handlers(monitoring: Monitoring) -> list[tuple]:
    """The handlers of the dashboards, as ``GmapHub.dashboard_handlers`` (the hub puts its prefix in
    front: ``/monitoring/`` is served at ``<base_url>hub/monitoring/``)."""
    args = {"monitoring": monitoring}
    return [
        (r"/monitoring/?", DashboardIndexHandler, args),
        (r"/monitoring/chart\.js", ChartJsHandler, args),
        (r"/monitoring/static/dashboard\.js", DashboardScriptHandler, args),
        (r"/monitoring/api/query_range", QueryRangeHandler, args),
        (r"/monitoring/([a-z0-9][a-z0-9-]*)", DashboardPageHandler, args),
    ]
