"""Hub, proxy, database and cookie settings; the image's pins; a full JupyterHub initialization."""

import base64
import json
import os
import re
from importlib.metadata import version

import pytest
from conftest import COOKIE_SECRET, HUB_CONFIG
from gmap_hub.settings import SettingsError


def test_hub_listens_for_containers_and_uses_external_proxy(hub, settings, secrets):
    app = hub(settings, secrets)
    assert app.hub_ip == "0.0.0.0"
    assert app.hub_port == 8081
    assert app.hub_connect_ip == "hub"
    assert app.cleanup_servers is False
    proxy = app.config.ConfigurableHTTPProxy
    assert proxy.should_start is False
    assert proxy.api_url == "http://proxy:8001"
    assert proxy.auth_token == "proxy-token-0123456789"


def test_database_cookie_secret_and_urls(hub, settings, secrets):
    app = hub(settings, secrets)
    assert app.db_url == f"sqlite:///{settings['hub']['dataDir']}/jupyterhub.sqlite"
    assert app.cookie_secret == bytes.fromhex(COOKIE_SECRET)
    assert len(app.cookie_secret) == 32
    assert app.public_url == "http://localhost:8000/"
    assert app.base_url == "/"
    assert app.log_level == 20  # INFO


def test_port_and_sqlite_file_come_from_settings(hub, settings, secrets):
    settings["hub"].update(port=8099, sqliteFile="hub.sqlite")
    app = hub(settings, secrets)
    assert app.hub_port == 8099
    assert app.db_url == f"sqlite:///{settings['hub']['dataDir']}/hub.sqlite"


def test_a_new_jupyterhub_upgrades_the_database_at_start(hub, settings, secrets):
    assert hub(settings, secrets).upgrade_db is True


POSTGRES = {"type": "postgres", "host": "postgres", "port": 5432, "name": "jupyterhub", "user": "jupyterhub"}


def test_postgres_database_from_settings_and_secrets(hub, settings, secrets):
    settings["hub"]["database"] = dict(POSTGRES)
    secrets["databasePassword"] = "Pg-Passw0rd/with:@signs"
    app = hub(settings, secrets)
    assert app.db_url == "postgresql+psycopg2://jupyterhub:Pg-Passw0rd%2Fwith%3A%40signs@postgres:5432/jupyterhub"
    assert app.upgrade_db is True
    # the image has the driver: SQLAlchemy loads the dialect without connecting
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    engine = create_engine(app.db_url)
    assert engine.dialect.driver == "psycopg2"
    assert make_url(app.db_url).password == "Pg-Passw0rd/with:@signs"


def test_postgres_without_its_password_names_the_key_not_a_value(hub, settings, secrets):
    settings["hub"]["database"] = dict(POSTGRES)
    with pytest.raises(SettingsError) as e:
        hub(settings, secrets)
    assert "databasePassword" in str(e.value) and "missing (required)" in str(e.value)


def test_public_url_with_a_path_sets_base_url(hub, settings, secrets):
    settings["hub"]["publicUrl"] = "https://hub.example.org/gmap"
    settings["hub"]["logLevel"] = "DEBUG"
    app = hub(settings, secrets)
    assert app.base_url == "/gmap/"
    assert app.public_url == "https://hub.example.org/gmap/"
    assert app.log_level == 10


def test_cookies_are_left_to_jupyterhub_without_tls(hub, settings, secrets):
    app = hub(settings, secrets)
    assert "cookie_options" not in app.tornado_settings


def test_secure_cookies_with_tls(hub, settings, secrets):
    settings["hub"]["publicUrl"] = "https://hub.example.org"
    settings["hub"]["secureCookies"] = True
    app = hub(settings, secrets, initialize=True)
    assert app.tornado_settings["cookie_options"] == {"secure": True}
    # the XSRF cookie follows cookie_options, and the user servers get them from their spawner
    assert app.tornado_settings["xsrf_cookie_kwargs"]["secure"] is True
    assert app.public_url == "https://hub.example.org/"


def test_registries_reach_every_docker_client_of_the_hub(hub, settings, secrets, tmp_path, monkeypatch):
    import docker

    monkeypatch.setenv("DOCKER_CONFIG", "/operator/choice")
    hub(settings, secrets)
    assert os.environ["DOCKER_CONFIG"] == "/operator/choice", "without registries the hub leaves the environment alone"

    folder = tmp_path / "docker"
    folder.mkdir()
    auth = base64.b64encode(b"gmap-puller:pw").decode()
    (folder / "config.json").write_text(json.dumps({"auths": {"registry.example.org:5000": {"auth": auth}}}))
    settings["hub"]["dockerConfigDir"] = str(folder)
    hub(settings, secrets)
    assert os.environ["DOCKER_CONFIG"] == str(folder)
    # a client made afterwards (the spawner's, the helpers') sends the credentials with its pulls and services
    client = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41")
    header = docker.auth.get_config_header(client, "registry.example.org:5000")
    sent = json.loads(base64.urlsafe_b64decode(header))
    assert (sent["username"], sent["password"], sent["serveraddress"]) == ("gmap-puller", "pw", "registry.example.org:5000")


def test_full_initialization_accepts_the_configuration(hub, settings, secrets):
    app = hub(settings, secrets, initialize=True)
    assert type(app.authenticator).__name__ == "GmapNativeAuthenticator"
    assert app.proxy.should_start is False
    assert app.proxy.auth_token == "proxy-token-0123456789"
    assert {s for s in app._service_map} == {"e2e", "idle-culler"}
    assert app._service_map["idle-culler"].managed
    roles = {r["name"]: r for r in app.load_roles}
    assert roles["service-e2e"]["services"] == ["e2e"]
    # the admin exists in the database once the hub started
    from jupyterhub import orm

    admin = orm.User.find(app.db, "admin")
    assert admin is not None and admin.admin


def test_requirements_are_pinned_and_installed():
    lines = [line.strip() for line in (HUB_CONFIG / "requirements.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) == 8
    for line in lines:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9][0-9A-Za-z.]*)", line)
        assert m, f"not an exact pin: {line}"
        assert version(m.group(1)) == m.group(2), f"{m.group(1)} installed is not the pinned version"


def test_image_runs_the_static_config_and_upgrades_the_database():
    dockerfile = (HUB_CONFIG / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}" in dockerfile  # the version is pinned in requirements.txt only
    # every pin but jupyterhub, whose version the base image decides (same major version only)
    assert "grep -v '^jupyterhub==' \"$req\" > /tmp/gmap-hub-packages.txt" in dockerfile
    assert "-r /tmp/gmap-hub-packages.txt -c /tmp/gmap-hub-constraints.txt" in dockerfile
    assert 'CMD ["python3", "-m", "gmap_hub.app", "-f", "/srv/jupyterhub/jupyterhub_config.py"]' in dockerfile
    ignored = (HUB_CONFIG / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") :].count("*") == 1  # deny by default, then allow the copied files
    assert "!gmap_hub/" in ignored and "**/__pycache__" in ignored
