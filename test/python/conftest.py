"""Shared fixtures: contract-shaped settings/secrets, and the real hub-config/jupyterhub_config.py
loaded through JupyterHub's own config loader."""

import asyncio
import copy
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
HUB_CONFIG = ROOT / "hub-config"
CONFIG_FILE = HUB_CONFIG / "jupyterhub_config.py"

# the hub image puts gmap_hub on PYTHONPATH (/srv/jupyterhub); do the same here
if str(HUB_CONFIG) not in sys.path:
    sys.path.insert(0, str(HUB_CONFIG))

COOKIE_SECRET = "0123456789abcdef" * 4

#: The password the deployment generated for the native admin "admin" (auth.admins), and its bcrypt
#: hash in the $2a$ form of the random provider's RandomPassword.bcryptHash, as secrets.json has it.
ADMIN_PASSWORD = "Generated-Admin-Passw0rd-42"


def _bcrypt_2a(password: str) -> str:
    import bcrypt

    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4, prefix=b"2a")).decode()


ADMIN_PASSWORD_HASH = _bcrypt_2a(ADMIN_PASSWORD)

# The example of docs/architecture.md, with a second image and real values.
SETTINGS = {
    "hub": {
        "publicUrl": "http://localhost:8000",
        "logLevel": "INFO",
        "connectHost": "hub",
        "container": "gmap-dev-hub",
        "proxyContainer": "gmap-dev-proxy",
        "proxyApiUrl": "http://proxy:8001",
        "proxyRouteCheckSeconds": 5,
        "port": 8081,
        "dataDir": "/srv/jupyterhub/data",  # replaced by a temporary directory
        "sqliteFile": "jupyterhub.sqlite",
        "dataReserveMiB": 64,
    },
    "auth": {
        "providers": ["native"],
        # every provider's login facts; the hub reads those of the enabled ones (prefixes: with several)
        "logins": {
            p: {"service": service, "urlPrefix": f"/{p}", "userNamePrefix": f"{p}:"}
            for p, service in (("native", "Native"), ("github", "GitHub"), ("gitlab", "GitLab"))
        },
        "userNameRule": json.loads((ROOT / "test" / "fixtures" / "user-names.json").read_text())["rule"],
        "admins": ["admin"],
        "allowedUsers": [],
        "native": {
            "openSignup": False,
            "minimumPasswordLength": 10,
            "allowedFailedLogins": 3,
            "secondsBeforeNextTry": 600,
            "checkCommonPassword": True,
            "askEmail": False,
        },
    },
    "spawner": {
        "networkTemplate": "gmap-dev-u-{username}",
        "networkLabels": {"org.europlanet-gmap.jupyterhub.stack": "dev", "org.europlanet-gmap.jupyterhub.component": "user-network"},
        "networkPool": "10.251.0.0/16",
        "networkPrefixLength": 28,
        "containerNameTemplate": "gmap-dev-user-{username}",
        "images": [
            {"name": "minimal", "displayName": "Minimal (Python)", "image": "quay.io/jupyter/minimal-notebook:2025-03-14"},
            {"name": "isis", "displayName": "ISIS & ASP <planetary>", "image": "gmap/jupyter-isis-asp:2025.1"},
        ],
        "defaultImage": "isis",
        "startTimeout": 600,
        "httpTimeout": 120,
        "defaultUrl": "/lab",
        "notebookDir": "/home/jovyan",
        "uid": 1000,
        "gid": 100,
        "environment": {"ISISDATA": "/mnt/isis/data"},
        "pidsLimit": 1024,
        "concurrentSpawnLimit": 20,
        "privileges": {
            "noNewPrivileges": True,
            "capDrop": ["ALL"],
            "capAdd": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID", "KILL", "AUDIT_WRITE"],
        },
        "logOptions": {"max-size": "10m", "max-file": "3"},
        "mounts": [
            {
                "name": "user",
                "type": "volume",
                "source": "gmap-dev-user-{username}",
                "target": "/home/jovyan/work",
                "readOnly": False,
                "perUser": True,
                "driverOptions": False,
            },
            {
                "name": "isis",
                "type": "volume",
                "source": "gmap-dev-isis",
                "target": "/mnt/isis/data",
                "readOnly": True,
                "perUser": False,
                "driverOptions": False,
            },
            {
                "name": "home-nfs",
                "type": "volume",
                "source": "gmap-dev-home-nfs-{username}",
                "target": "/mnt/nfs",
                "readOnly": False,
                "perUser": True,
                "driverOptions": True,
            },
            {
                "name": "scratch",
                "type": "bind",
                "source": "/srv/scratch/{username}",
                "target": "/mnt/scratch",
                "readOnly": False,
                "perUser": True,
                "driverOptions": False,
            },
        ],
        "labels": {"org.europlanet-gmap.jupyterhub.stack": "dev", "org.europlanet-gmap.jupyterhub.component": "user"},
    },
    "hooks": {"postAuth": None, "preSpawn": None, "startScript": None},
    "services": [{"name": "e2e", "scopes": ["admin:users", "admin:servers", "access:servers"]}],
    "culler": {
        "enabled": True,
        "timeout": 3600,
        "every": 300,
        "maxAge": 0,
        "removeNamedServers": False,
        "service": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    },
}

SECRETS = {
    "cookieSecret": COOKIE_SECRET,
    "proxyAuthToken": "proxy-token-0123456789",
    "serviceTokens": {"e2e": "e2e-token-0123456789"},
    "cullerToken": "culler-token-0123456789",
    "nativeAdminPasswordHashes": {"admin": ADMIN_PASSWORD_HASH},
    "mountDriverOptions": {
        "home-nfs": {"type": "nfs", "o": "addr=10.0.0.5,rw,nfsvers=4", "device": ":/export/{username}"},
    },
}

GITHUB = {
    "clientId": "gh-client-id",
    "callbackUrl": "http://localhost:8000/hub/oauth_callback",
    "allowedOrganizations": ["europlanet", "europlanet:gmap-team"],
    "allowedUsers": ["octocat"],
    "admins": ["gh-admin"],
    "apiUrl": None,
    "url": None,
    "allowAll": False,
}

GITLAB = {
    "url": "https://gitlab.example.org/",
    "clientId": "gl-client-id",
    "callbackUrl": "http://localhost:8000/hub/oauth_callback",
    "allowedGroups": ["planetary/gmap"],
    "allowedProjectIds": [42],
    "allowedUsers": ["tanuki"],
    "admins": ["gl-admin"],
    "allowAll": False,
}


@pytest.fixture
def settings(tmp_path):
    s = copy.deepcopy(SETTINGS)
    s["hub"]["dataDir"] = str(tmp_path / "data")
    (tmp_path / "data").mkdir()
    return s


@pytest.fixture
def secrets():
    return copy.deepcopy(SECRETS)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """hub(settings, secrets) -> a JupyterHub app (or ``app_class``, e.g. GmapHub) with the real
    jupyterhub_config.py loaded."""
    from jupyterhub.app import JupyterHub

    def load(settings, secrets, *, initialize=False, app_class=JupyterHub):
        settings_file = tmp_path / "settings.json"
        secrets_file = tmp_path / "secrets.json"
        settings_file.write_text(json.dumps(settings))
        secrets_file.write_text(json.dumps(secrets))
        secrets_file.chmod(0o600)
        monkeypatch.setenv("GMAP_HUB_SETTINGS", str(settings_file))
        monkeypatch.setenv("GMAP_HUB_SECRETS", str(secrets_file))
        monkeypatch.chdir(tmp_path)
        app = app_class(config_file=str(CONFIG_FILE))
        if initialize:
            # the whole start-up short of listening: database, proxy object, authenticator,
            # roles, services and tokens are all built from the config
            asyncio.run(app.initialize([]))
        else:
            app.load_config_file(str(CONFIG_FILE))
        return app

    return load


def multi_settings(settings, secrets):
    """settings and secrets with the three providers (MultiAuthenticator), nothing that spawns."""
    settings["auth"].update(providers=["native", "github", "gitlab"], admins=["admin"])
    settings["auth"]["github"] = dict(GITHUB, callbackUrl="http://localhost:8000/hub/github/oauth_callback")
    settings["auth"]["gitlab"] = dict(GITLAB, callbackUrl="http://localhost:8000/hub/gitlab/oauth_callback")
    secrets.update(githubClientSecret="gh-secret", gitlabClientSecret="gl-secret")
    # nothing here talks to the (absent) proxy or spawns
    settings["culler"]["enabled"] = False
    return settings, secrets


@pytest.fixture
def multi_hub(hub, settings, secrets):
    settings, secrets = multi_settings(settings, secrets)
    return hub(settings, secrets)


@pytest.fixture
def make_spawner():
    """make_spawner(app, user_name, groups, admin, server_name) -> the app's spawner class, configured
    like the hub would, for a user in the named groups (an admin or not); the default server or a named one."""
    from jupyterhub import orm
    from jupyterhub.objects import Hub

    def make(app, user_name="Ada.Lovelace@x", groups=(), admin=False, server_name=""):
        user = SimpleNamespace(name=user_name, url=f"/user/{user_name}/", id=1, groups=[SimpleNamespace(name=g) for g in groups], admin=admin)
        # a named server's name comes from its database row (a row of its own, never saved here)
        orm_spawner = orm.Spawner(name=server_name) if server_name else None
        spawner = app.spawner_class(config=app.config, user=user, hub=Hub(), orm_spawner=orm_spawner)

        async def answers(url):  # no request leaves the tests: the server answers at once
            return True

        spawner._answers = answers
        return spawner

    return make
