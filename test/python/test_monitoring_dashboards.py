"""Monitoring on the hub's side: its two services with their tokens and roles (nothing without the
``monitoring`` section), the dashboards kept as code (valid, naming only metrics that JupyterHub or
the exporter exports), and their pages, files and query API on a live hub: an admin sees them and
queries Prometheus (a stand-in HTTP server on the loopback here) through a client of the
dashboards' own, a script's query needs the page's XSRF token, a signed-in user who is not an admin
gets 403, and a visitor who is not signed in is sent to the login page or refused.
"""

import dataclasses
import html
import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from conftest import ADMIN_PASSWORD, HUB_CONFIG
from gmap_hub.app import GmapHub
from gmap_hub.monitoring import dashboards
from gmap_hub.settings import SettingsError
from test_multi_auth_live import Browser, live_hub, run

PASSWORD = "Correct-Horse-Battery-9"

#: settings.json ``monitoring`` as the program writes it (the design's contract).
MONITORING = {
    "prometheusUrl": "http://prometheus:9090",
    "exporterPort": 9101,
    "scrapeIntervalSeconds": 15,
    "homeUsageIntervalSeconds": 600,
    "chartJsFile": "/srv/jupyterhub/monitoring/chart.umd.js",
    "exporterTokenFile": "/srv/jupyterhub/exporter-token",
    "prometheusService": {"name": "gmap-prometheus", "scopes": ["read:metrics"]},
    "exporterService": {"name": "gmap-exporter", "scopes": ["list:users", "read:users", "read:servers", "read:groups"]},
    "stackLabels": {"org.europlanet-gmap.jupyterhub.stack": "dev"},
    "componentLabel": "org.europlanet-gmap.jupyterhub.component",
}
TOKENS = {"prometheus": "prometheus-token-0123456789", "exporter": "exporter-token-0123456789"}
CHART_JS = "/* Chart.js stand-in */\n"

#: The exporter's metrics (the monitoring design's contract, gmap_hub/monitoring/exporter.py).
EXPORTER_METRICS = {
    "gmap_server_running",
    "gmap_server_memory_bytes",
    "gmap_server_memory_limit_bytes",
    "gmap_server_cpu_seconds_total",
    "gmap_server_network_receive_bytes_total",
    "gmap_server_network_transmit_bytes_total",
    "gmap_home_bytes",
    "gmap_user_group",
    "gmap_container_memory_bytes",
    "gmap_host_memory_bytes",
    "gmap_host_memory_available_bytes",
    "gmap_host_disk_bytes",
    "gmap_host_disk_free_bytes",
    "gmap_servers_limit",
    "gmap_memory_budget_bytes",
}


def jupyterhub_metrics() -> set[str]:
    """The names of the series the installed JupyterHub exports (jupyterhub/metrics.py), with each
    type's suffixes as Prometheus stores them."""
    import jupyterhub.metrics
    from prometheus_client.metrics import MetricWrapperBase

    suffixes = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count", "_created"), "summary": ("", "_sum", "_count")}
    names = set()
    for value in vars(jupyterhub.metrics).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                names |= {family.name + s for s in suffixes[family.type]}
    return names


#: PromQL words that are not metric names when not followed by "(" (functions and aggregations are).
PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}


def metric_names(query: str) -> set[str]:
    """The metric names a PromQL query reads: its identifiers once strings, label matchers, ranges
    and label lists are removed, less functions, aggregations and keywords."""
    q = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)
    q = re.sub(r"\{[^}]*\}", " ", q)
    q = re.sub(r"\[[^\]]*\]", " ", q)
    q = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", q)
    names = set()
    for m in re.finditer(r"(?<![A-Za-z0-9_.:])[A-Za-z_:][A-Za-z0-9_:]*", q):
        if q[m.end() :].lstrip().startswith("(") or m.group(0).lower() in PROMQL_WORDS:
            continue
        names.add(m.group(0))
    return names


def every_series():
    for name, dashboard in sorted(dashboards.load_dashboards().items()):
        for panel in dashboard["panels"]:
            for series in panel["series"]:
                yield pytest.param(series, id=f"{name}: {panel['title']}: {series['label']}")


def dashboard_metrics(name: str) -> set[str]:
    return {m for panel in dashboards.load_dashboards()[name]["panels"] for s in panel["series"] for m in metric_names(s["query"])}


@pytest.fixture
def monitored(settings, secrets, tmp_path):
    """settings and secrets with monitoring on (Chart.js's file a stand-in)."""
    chart = tmp_path / "chart.umd.js"
    chart.write_text(CHART_JS)
    settings["monitoring"] = json.loads(json.dumps(MONITORING))
    settings["monitoring"]["chartJsFile"] = str(chart)
    secrets["monitoringTokens"] = dict(TOKENS)
    return settings, secrets


def comparable(value):
    """A config value JSON cannot hold, as something to compare (objects by their class)."""
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def by_name(items):
    return {i["name"]: i for i in items}


# --- the services and the hub's configuration


def test_monitoring_registers_its_two_services_with_tokens_and_roles(hub, monitored):
    app = hub(*monitored, initialize=True, app_class=GmapHub)
    services = by_name(app.services)
    assert services["gmap-prometheus"] == {"name": "gmap-prometheus", "api_token": TOKENS["prometheus"]}
    assert services["gmap-exporter"] == {"name": "gmap-exporter", "api_token": TOKENS["exporter"]}
    # the operator's services and the culler stay
    assert set(services) == {"e2e", "idle-culler", "gmap-prometheus", "gmap-exporter"}
    roles = by_name(app.load_roles)
    assert (roles["service-gmap-prometheus"]["scopes"], roles["service-gmap-prometheus"]["services"]) == (["read:metrics"], ["gmap-prometheus"])
    exporter = roles["service-gmap-exporter"]
    assert (exporter["scopes"], exporter["services"]) == (["list:users", "read:users", "read:servers", "read:groups"], ["gmap-exporter"])
    assert {"service-e2e", "service-idle-culler"} <= set(roles)

    # the hub accepts the tokens, with the scopes of their roles
    from jupyterhub import orm, scopes

    for key, name, scope in (("prometheus", "gmap-prometheus", "read:metrics"), ("exporter", "gmap-exporter", "list:users")):
        token = orm.APIToken.find(app.db, TOKENS[key])
        assert token is not None and token.service.name == name
        assert scope in scopes.get_scopes_for(token)
    assert "admin:users" not in scopes.get_scopes_for(orm.APIToken.find(app.db, TOKENS["exporter"]))


def test_the_dashboards_are_mounted_under_the_hub_prefix(hub, monitored):
    settings, secrets = monitored
    settings["hub"]["publicUrl"] = "https://hub.example.org/gmap"
    app = hub(settings, secrets, initialize=True, app_class=GmapHub)
    patterns = {h[0] for h in app.handlers}
    assert {
        "/gmap/hub/monitoring/?",
        "/gmap/hub/monitoring/chart\\.js",
        "/gmap/hub/monitoring/static/dashboard\\.js",
        "/gmap/hub/monitoring/api/query_range",
        "/gmap/hub/monitoring/([a-z0-9][a-z0-9-]*)",
    } <= patterns
    monitoring = next(h[2]["monitoring"] for h in app.dashboard_handlers)
    assert monitoring.prometheus_url == "http://prometheus:9090"
    assert monitoring.chart_js_file == settings["monitoring"]["chartJsFile"]
    assert set(monitoring.dashboards) == {"hub", "host"}


def test_without_the_section_nothing_changes(hub, settings, secrets, monitored):
    plain_settings = {k: v for k, v in settings.items() if k != "monitoring"}
    plain = hub(plain_settings, {k: v for k, v in secrets.items() if k != "monitoringTokens"}, app_class=GmapHub)
    assert plain.dashboard_handlers == []
    assert "dashboard_handlers" not in plain.config.GmapHub
    assert {s["name"] for s in plain.services} == {"e2e", "idle-culler"}
    assert {r["name"] for r in plain.load_roles} == {"service-e2e", "service-idle-culler"}

    # with the section, only the monitoring's services, roles and handlers are added
    on = hub(settings, secrets, app_class=GmapHub)
    config, with_monitoring = (json.loads(json.dumps(app.config, default=comparable)) for app in (plain, on))
    assert with_monitoring["GmapHub"].pop("dashboard_handlers")
    added = with_monitoring["JupyterHub"]
    assert [s for s in added.pop("services") if not s["name"].startswith("gmap-")] == config["JupyterHub"].pop("services")
    assert [r for r in added.pop("load_roles") if r["name"] not in ("service-gmap-prometheus", "service-gmap-exporter")] == config["JupyterHub"].pop(
        "load_roles"
    )
    assert with_monitoring == config


def test_monitoring_needs_its_tokens(hub, monitored):
    settings, secrets = monitored
    del secrets["monitoringTokens"]
    with pytest.raises(SettingsError) as e:
        hub(settings, secrets)
    assert "key monitoringTokens: missing (required)" in str(e.value)
    assert "token-0123" not in str(e.value)


def test_an_operators_service_may_not_take_a_monitoring_services_name(hub, monitored):
    settings, secrets = monitored
    settings["services"].append({"name": "gmap-exporter", "scopes": ["read:metrics"]})
    secrets["serviceTokens"]["gmap-exporter"] = "operator-token-0123456789"
    with pytest.raises(SettingsError, match=r"key services\[1\]\.name: 'gmap-exporter' is reserved for the exporter of the monitoring"):
        hub(settings, secrets)


# --- the dashboards as code


def test_the_dashboards_load_and_are_valid():
    loaded = dashboards.load_dashboards()
    assert set(loaded) == {"hub", "host"}
    for dashboard in loaded.values():
        assert dashboard["title"] and dashboard["panels"]
        for panel in dashboard["panels"]:
            assert panel["unit"] in dashboards.UNITS
            assert panel["series"]
    assert {p["unit"] for d in loaded.values() for p in d["panels"]} == set(dashboards.UNITS)


def test_the_metric_name_reader():
    query = 'histogram_quantile(0.9, sum by (le) (rate(a_bucket{handler!="x.y(z)"}[5m]))) or on() (0 * b) - topk(5, c) / d offset 1h'
    assert metric_names(query) == {"a_bucket", "b", "c", "d"}
    assert metric_names("sum(x) or on(instance) vector(0)") == {"x"}


def test_jupyterhub_exports_the_metrics_the_dashboards_expect():
    names = jupyterhub_metrics()
    assert {"jupyterhub_active_users", "jupyterhub_running_servers", "jupyterhub_request_duration_seconds_bucket"} <= names
    assert "jupyterhub_server_spawn_duration_seconds_bucket" in names and "jupyterhub_server_spawn_duration_seconds_count" in names


@pytest.mark.parametrize("series", list(every_series()))
def test_every_series_names_only_metrics_that_exist(series):
    names = metric_names(series["query"])
    assert names, f"no metric in {series['query']!r}"
    unknown = names - jupyterhub_metrics() - EXPORTER_METRICS
    assert not unknown, f"{sorted(unknown)} is neither JupyterHub's nor the exporter's metric"


def test_the_hub_dashboard_shows_the_hubs_state():
    assert {
        "jupyterhub_active_users",
        "gmap_server_running",
        "jupyterhub_server_spawn_duration_seconds_bucket",
        "jupyterhub_server_spawn_duration_seconds_count",
        "jupyterhub_request_duration_seconds_bucket",
        "jupyterhub_proxy_poll_duration_seconds_bucket",
        "jupyterhub_proxy_add_duration_seconds_bucket",
        "gmap_container_memory_bytes",
    } <= dashboard_metrics("hub")
    queries = [s["query"] for p in dashboards.load_dashboards()["hub"]["panels"] for s in p["series"]]
    assert any('status="failure"' in q for q in queries), "failed spawns"
    assert any("histogram_quantile(0.5," in q and "spawn" in q for q in queries) and any("histogram_quantile(0.9," in q and "spawn" in q for q in queries)
    assert any('component="hub"' in q for q in queries) and any('component="proxy"' in q for q in queries)


def test_the_host_dashboard_shows_the_headroom_against_the_ceilings():
    assert {
        "gmap_host_memory_bytes",
        "gmap_host_memory_available_bytes",
        "gmap_host_disk_bytes",
        "gmap_host_disk_free_bytes",
        "gmap_server_memory_limit_bytes",
        "gmap_server_memory_bytes",
        "gmap_memory_budget_bytes",
        "gmap_server_running",
        "gmap_servers_limit",
        "gmap_home_bytes",
    } <= dashboard_metrics("host")
    queries = [s["query"] for p in dashboards.load_dashboards()["host"]["panels"] for s in p["series"]]
    assert "sum(gmap_server_memory_limit_bytes)" in " ".join(queries) and "sum(gmap_server_memory_bytes)" in " ".join(queries)
    assert any(q.startswith("topk(") and "gmap_server_memory_bytes" in q for q in queries), "top users by memory"
    assert any(q.startswith("topk(") and "gmap_home_bytes" in q for q in queries), "top users by home size"


def test_the_exporter_writes_the_metrics_the_dashboards_read():
    source = (HUB_CONFIG / "gmap_hub" / "monitoring" / "exporter.py").read_text()
    used = (dashboard_metrics("hub") | dashboard_metrics("host")) & EXPORTER_METRICS
    assert used
    for name in used:
        base = name.removesuffix("_total")
        assert re.search(rf"['\"]{re.escape(base)}(_total)?['\"]", source), f"{name} is not a metric of exporter.py"


GOOD = {"title": "T", "panels": [{"title": "P", "unit": "bytes", "series": [{"label": "{user}", "query": "gmap_home_bytes"}]}]}


@pytest.mark.parametrize(
    "file,content,problem",
    [
        (
            "hub.json",
            {**GOOD, "panels": [{**GOOD["panels"][0], "unit": "GB"}]},
            "key panels[0].unit: 'GB' is not one of ['bytes', 'seconds', 'count', 'percent']",
        ),
        ("hub.json", {**GOOD, "panels": [{"title": "P", "unit": "count", "series": [{"label": "x"}]}]}, "key panels[0].series[0].query: missing (required)"),
        ("hub.json", {**GOOD, "panel": []}, "key panel: unknown key"),
        ("hub.json", {**GOOD, "panels": []}, "key panels: [] should be non-empty"),
        ("hub.json", {**GOOD, "panels": [{**GOOD["panels"][0], "series": [{"label": "{a b}", "query": "x"}]}]}, "key panels[0].series[0].label: {a b} is not"),
        ("hub.json", "{ not json", "not valid JSON (line 1, column 3)"),
        ("The Hub.json", GOOD, "the file name (the dashboard's URL) may have lower-case letters, digits and dashes only"),
    ],
    ids=["unit", "missing", "unknown", "empty", "label", "json", "file-name"],
)
def test_a_wrong_dashboard_is_refused_with_its_file_and_key(tmp_path, file, content, problem):
    path = tmp_path / file
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(dashboards.DashboardError) as e:
        dashboards.load_dashboards(str(tmp_path))
    assert str(e.value).startswith(f"{path}: ")
    assert problem in str(e.value)


def test_a_wrong_dashboard_fails_the_hub_start(hub, monitored, tmp_path, monkeypatch):
    folder = tmp_path / "dashboards"
    folder.mkdir()
    (folder / "hub.json").write_text(json.dumps({**GOOD, "panels": [{**GOOD["panels"][0], "unit": "GB"}]}))
    monkeypatch.setattr(dashboards, "DASHBOARD_DIR", str(folder))
    with pytest.raises(SettingsError, match=re.escape(f"{folder / 'hub.json'}: key panels[0].unit: 'GB' is not one of")):
        hub(*monitored)


# --- the pages, files and query API on a live hub


class FakePrometheus:
    """Prometheus's range query on a loopback port: records each request's path and parameters,
    answers a matrix, Prometheus's 400 for the query ``bad(``, and nothing in time for ``slow``."""

    RESULT = {"resultType": "matrix", "result": [{"metric": {"user": "ada"}, "values": [[1700000000, "1048576"]]}]}

    def __init__(self):
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                params = parse_qs(url.query, keep_blank_values=True)
                fake.requests.append((url.path, params))
                query = params.get("query", [""])[0]
                if query == "slow":
                    time.sleep(3)
                if query == "bad(":
                    code, body = 400, {"status": "error", "errorType": "bad_data", "error": 'invalid parameter "query": parse error'}
                else:
                    code, body = 200, {"status": "success", "data": fake.RESULT}
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def prometheus():
    fake = FakePrometheus()
    yield fake
    fake.close()


@pytest.fixture
def live(hub, monitored, prometheus, monkeypatch):
    """A hub with monitoring (not yet started) whose Prometheus is the stand-in."""
    from nativeauthenticator.handlers import LocalBase

    # NativeAuthenticator adds its templates (the login page) to the first hub of a process only
    monkeypatch.setattr(LocalBase, "_template_dir_registered", False)
    settings, secrets = monitored
    settings["monitoring"]["prometheusUrl"] = prometheus.url
    settings["culler"]["enabled"] = False  # no service process to start
    return hub(settings, secrets, app_class=GmapHub)


async def sign_in(base, name, password):
    browser = Browser(base)
    await browser.get("/hub/login")
    signed_in = await browser.post("/hub/login?next=", {"username": name, "password": password})
    assert signed_in.code == 302, signed_in.text[:500]
    return browser


def query_path(**params):
    return "/hub/monitoring/api/query_range?" + urlencode(params)


RANGE = {"query": 'sum by (user) (gmap_server_memory_bytes{user!=""})', "start": "1700000000", "end": "1700021600", "step": "90"}


def test_an_admin_sees_the_dashboards_and_queries_prometheus(live, prometheus, monitored):
    async def scenario():
        async with live_hub(live) as base:
            admin = await sign_in(base, "admin", ADMIN_PASSWORD)

            index = await admin.get("/hub/monitoring/")
            assert index.code == 200
            assert 'href="/hub/monitoring/hub"' in index.text and 'href="/hub/monitoring/host"' in index.text
            assert 'href="/hub/admin"' in index.text, "the hub's navigation bar"
            assert (await admin.get("/hub/monitoring")).code == 200

            page = await admin.get("/hub/monitoring/hub")
            assert page.code == 200
            assert "<title>The hub · Monitoring</title>" in page.text
            assert 'href="/hub/admin"' in page.text and 'href="/hub/home"' in page.text
            assert '<script src="/hub/monitoring/static/dashboard.js"' in page.text
            found = re.search(r'data-config="([^"]*)"', page.text)
            config = json.loads(html.unescape(found.group(1)))
            assert config["queryUrl"] == "/hub/monitoring/api/query_range"
            assert config["chartJsUrl"] == "/hub/monitoring/chart.js"
            assert config["minStepSeconds"] == 15
            assert config["panels"] == dashboards.load_dashboards()["hub"]["panels"]
            for panel in config["panels"]:
                assert f">{html.escape(panel['title'])}</h2>" in page.text
            for span in ("1h", "6h", "24h", "7d"):
                assert f'data-range="{span}"' in page.text
            assert (await admin.get("/hub/monitoring/host")).code == 200
            assert (await admin.get("/hub/monitoring/nonexistent")).code == 404

            chart = await admin.request("GET", "/hub/monitoring/chart.js")
            assert (chart.code, chart.text) == (200, CHART_JS)
            script = await admin.get("/hub/monitoring/static/dashboard.js")
            assert script.code == 200
            assert script.text == (HUB_CONFIG / "gmap_hub" / "monitoring" / "static" / "dashboard.js").read_text()

            # the query goes to Prometheus with its four parameters only, and its JSON comes back
            answer = await admin.get(query_path(**RANGE, timeout="1s", foo="bar"))
            assert answer.code == 200, answer.text
            assert json.loads(answer.text) == {"status": "success", "data": FakePrometheus.RESULT}
            assert prometheus.requests == [("/api/v1/query_range", {k: [v] for k, v in RANGE.items()})]

            # Prometheus's errors come back as they are; the hub's own have the same form
            bad = await admin.get(query_path(**{**RANGE, "query": "bad("}))
            assert bad.code == 400 and json.loads(bad.text)["errorType"] == "bad_data"
            missing = await admin.get(query_path(query="up", start="1", end="2"))
            assert missing.code == 400
            assert json.loads(missing.text) == {"status": "error", "errorType": "hub", "error": "The parameter step is missing."}
            assert len(prometheus.requests) == 2

            # a Prometheus that does not answer in time, or at all
            args = live.dashboard_handlers[0][2]
            args["monitoring"] = dataclasses.replace(args["monitoring"], query_timeout=0.5)
            slow = await admin.get(query_path(**{**RANGE, "query": "slow"}))
            assert slow.code == 504 and "did not answer in time" in json.loads(slow.text)["error"]
            args["monitoring"] = dataclasses.replace(args["monitoring"], prometheus_url="http://127.0.0.1:9")
            down = await admin.get(query_path(**RANGE))
            assert down.code == 502 and json.loads(down.text)["error"].startswith("Prometheus cannot be reached")

    run(scenario())


def test_the_chart_js_file_missing_says_where_it_should_be(live, monitored):
    settings, _ = monitored

    async def scenario():
        async with live_hub(live) as base:
            admin = await sign_in(base, "admin", ADMIN_PASSWORD)
            os.remove(settings["monitoring"]["chartJsFile"])
            missing = await admin.get("/hub/monitoring/chart.js")
            assert missing.code == 404 and "settings.json monitoring.chartJsFile" in missing.text

    run(scenario())


async def fetch(browser, path, headers):
    """A request of a script of a page: the browser's cookies and ``headers``; the whole answer (its headers too)."""
    hdrs = {"Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items()), **headers}
    response = await browser.client.fetch(browser.base + path, headers=hdrs, follow_redirects=False, raise_error=False, request_timeout=30)
    return SimpleNamespace(code=response.code, headers=response.headers, body=json.loads(response.body))


#: What a browser's fetch() from a page of the hub's origin sends (a user server's page under /user/<name>/ too).
SCRIPT = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin", "Accept": "application/json"}


def test_a_scripts_query_needs_the_pages_xsrf_token(live, prometheus):
    """The query API checks the XSRF token on GET, as JupyterHub's REST API: a script of another page
    of the hub's origin that an admin opens (a user server's) cannot read the measurements with the
    admin's cookie; the dashboard's script sends the token its page has (page.html's jhdata)."""

    async def scenario():
        async with live_hub(live) as base:
            admin = await sign_in(base, "admin", ADMIN_PASSWORD)
            page = await admin.get("/hub/monitoring/hub")
            token = re.search(r'xsrf_token: "([^"]+)"', page.text).group(1)

            refused = await fetch(admin, query_path(**RANGE), SCRIPT)
            assert refused.code == 403
            assert refused.body == {"status": "error", "errorType": "hub", "error": "'_xsrf' argument missing from GET"}
            wrong = await fetch(admin, query_path(**RANGE), {**SCRIPT, "X-XSRFToken": token[:-4] + "AAAA"})
            assert wrong.code == 403 and wrong.body["error"] == "XSRF cookie does not match GET argument"
            assert prometheus.requests == []

            answer = await fetch(admin, query_path(**RANGE), {**SCRIPT, "X-XSRFToken": token})
            assert answer.code == 200
            assert answer.body == {"status": "success", "data": FakePrometheus.RESULT}
            assert answer.headers["Content-Type"] == "application/json"
            assert answer.headers["Cache-Control"] == "no-store"
            # no page may show the answers in a frame, the errors neither
            for response in (answer, refused):
                policy = [p.strip() for p in response.headers["Content-Security-Policy"].split(";")]
                assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
            assert len(prometheus.requests) == 1

            # a request of another site (its Origin) without the token is refused, signed in or not
            assert (await fetch(admin, query_path(**RANGE), {**SCRIPT, "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})).code == 403
            assert (await fetch(Browser(base), query_path(**RANGE), {**SCRIPT, "Origin": "https://evil.example"})).code == 403
            assert len(prometheus.requests) == 1

    run(scenario())
    script = (HUB_CONFIG / "gmap_hub" / "monitoring" / "static" / "dashboard.js").read_text()
    assert 'headers["X-XSRFToken"] = token' in script and "window.jhdata && window.jhdata.xsrf_token" in script


def test_the_queries_go_through_a_client_of_their_own(live, prometheus, monkeypatch):
    """Not tornado's shared client (10 connections, the hub's calls to the proxy go through it): a
    dashboard's refresh queues its queries behind its own 4."""
    from tornado.httpclient import AsyncHTTPClient

    async def scenario():
        async with live_hub(live) as base:
            admin = await sign_in(base, "admin", ADMIN_PASSWORD)
            shared = AsyncHTTPClient()

            async def refused(*args, **kwargs):
                raise AssertionError("a query went through tornado's shared client")

            monkeypatch.setattr(shared, "fetch", refused)
            for _ in range(2):
                answer = await admin.get(query_path(**RANGE))
                assert answer.code == 200, answer.text
            assert len(prometheus.requests) == 2
            monitoring = live.dashboard_handlers[0][2]["monitoring"]
            client = monitoring.http_client()
            assert client is not shared and client is monitoring.http_client()
            # tornado's simple client counts them, the curl client (the hub image's) has one handle each
            assert (client.max_clients if hasattr(client, "max_clients") else len(client._curls)) == dashboards.QUERY_CLIENTS == 4

    run(scenario())


MONITORING_PATHS = ("/hub/monitoring/", "/hub/monitoring/hub", "/hub/monitoring/chart.js", "/hub/monitoring/static/dashboard.js", query_path(**RANGE))


def test_a_user_who_is_not_an_admin_is_refused(live, prometheus):
    async def scenario():
        async with live_hub(live) as base:
            account = live.authenticator.create_user("ada", PASSWORD)
            account.is_authorized = True
            live.authenticator.db.commit()
            ada = await sign_in(base, "ada", PASSWORD)
            me = await ada.whoami()
            assert (me["name"], me["admin"]) == ("ada", False)
            assert (await ada.get("/hub/home")).code == 200
            for path in MONITORING_PATHS:
                refused = await ada.get(path)
                assert refused.code == 403, (path, refused.code)
            assert "requires any of [admin-ui]" in (await ada.get(query_path(**RANGE))).text
            # a script of her page, with her page's XSRF token
            token = re.search(r'xsrf_token: "([^"]+)"', (await ada.get("/hub/home")).text).group(1)
            scripted = await fetch(ada, query_path(**RANGE), {**SCRIPT, "X-XSRFToken": token})
            assert scripted.code == 403 and "requires any of [admin-ui]" in scripted.body["error"]
            assert prometheus.requests == []

    run(scenario())


def test_a_visitor_who_is_not_signed_in_is_sent_to_the_login_page(live, prometheus):
    async def scenario():
        async with live_hub(live) as base:
            visitor = Browser(base)
            for path in ("/hub/monitoring/", "/hub/monitoring/host"):
                page = await visitor.get(path)
                assert page.code == 302 and page.location.startswith("/hub/login?next=" + path.replace("/", "%2F")), (path, page.location)
            for path in MONITORING_PATHS[2:]:
                assert (await visitor.get(path)).code == 403, path
            assert prometheus.requests == []

    run(scenario())
