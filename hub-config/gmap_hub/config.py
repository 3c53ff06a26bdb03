"""Turns the hub's settings.json and secrets.json into JupyterHub configuration.

:func:`apply` is the only entry point (called by ``jupyterhub_config.py``). The JSON contract is
described in docs/architecture.md. Any missing or invalid key fails the hub start with a
:class:`~gmap_hub.settings.SettingsError` naming the file and the key.
"""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import quote, urlparse, urlunparse

from .auth import ProviderOwnership
from .hooks import load_hook
from .settings import Section, SettingsError, load_json

DEFAULT_SETTINGS = "/srv/jupyterhub/settings.json"
DEFAULT_SECRETS = "/srv/jupyterhub/secrets.json"

HUB_PORT = 8081

#: Authenticator class per provider name of ``auth.providers``.
AUTHENTICATORS = {
    # NativeAuthenticator whose admin accounts the deployment creates
    "native": "gmap_hub.auth.GmapNativeAuthenticator",
    "github": "oauthenticator.github.GitHubOAuthenticator",
    # OAuthenticator's, with its subgroup membership check fixed (jupyterhub/oauthenticator#423)
    "gitlab": "gmap_hub.auth.GmapGitLabOAuthenticator",
}
MULTI_AUTHENTICATOR = "gmap_hub.auth.GmapMultiAuthenticator"
#: Provider classes under MultiAuthenticator, where they differ from AUTHENTICATORS.
MULTI_PROVIDERS = {**AUTHENTICATORS, "native": "gmap_hub.auth.MultiNativeAuthenticator"}
#: With several providers (MultiAuthenticator): login service (the button says "Sign in with ..."),
#: URL prefix under /hub, and user name prefix (MultiAuthenticator derives it from the login
#: service: lower-cased, plus ":"). docs/oauth.md and components/identity.ts document these names.
LOGIN_SERVICES = {"native": "Native", "github": "GitHub", "gitlab": "GitLab"}
URL_PREFIXES = {"native": "/native", "github": "/github", "gitlab": "/gitlab"}
USERNAME_PREFIXES = {p: f"{s.lower()}:" for p, s in LOGIN_SERVICES.items()}

SPAWNER_CLASS = "gmap_hub.spawner.GmapDockerSpawner"
#: The spawner in swarm mode (spawner.swarm): each server a Swarm service.
SWARM_SPAWNER_CLASS = "gmap_hub.spawner.GmapSwarmSpawner"

#: Settings that map one to one onto a trait, one line per option: (settings key, class, trait).
#: The contract (settings.schema.json) has checked their values; null leaves the trait unset.
SPAWNER_TRAITS = (
    ("startTimeout", "Spawner", "start_timeout"),
    ("httpTimeout", "Spawner", "http_timeout"),
    ("defaultUrl", "Spawner", "default_url"),
    ("notebookDir", "Spawner", "notebook_dir"),
    ("memLimit", "DockerSpawner", "mem_limit"),
    ("cpuLimit", "DockerSpawner", "cpu_limit"),
)
#: NativeAuthenticator's documented defaults are metadata only (its effective defaults are 0): all set.
NATIVE_TRAITS = (
    ("openSignup", "NativeAuthenticator", "open_signup"),
    ("askEmail", "NativeAuthenticator", "ask_email_on_signup"),
    ("checkCommonPassword", "NativeAuthenticator", "check_common_password"),
    ("minimumPasswordLength", "NativeAuthenticator", "minimum_password_length"),
    ("allowedFailedLogins", "NativeAuthenticator", "allowed_failed_logins"),
    ("secondsBeforeNextTry", "NativeAuthenticator", "seconds_before_next_try"),
)


def set_traits(c, section: Section, table) -> None:
    """Sets each (key, class, trait) of ``table`` from ``section`` (a null value leaves it unset)."""
    for key, cls, trait in table:
        value = section.raw(key, None)
        if value is not None:
            setattr(getattr(c, cls), trait, value)


CULLER_SERVICE = "idle-culler"
#: Scopes the idle culler needs to find and stop idle servers (not users: it never culls users).
CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]


def apply(c, settings_path: str = DEFAULT_SETTINGS, secrets_path: str = DEFAULT_SECRETS) -> None:
    """Sets every option of the hub on the traitlets config ``c`` from the two JSON files."""
    settings = load_json(settings_path, "settings", "GMAP_HUB_SETTINGS")
    secrets = load_json(secrets_path, "secrets", "GMAP_HUB_SECRETS", sensitive=True)
    hooks = settings.section("hooks")
    configure_hub(c, settings.section("hub"), secrets)
    configure_auth(c, settings.section("auth"), secrets, settings.section("hub").string("dataDir"))
    configure_spawner(c, settings.section("spawner"), hooks, secrets, settings.section("hub"))
    configure_python_hooks(c, hooks, settings.section("hub").string("dataDir"))
    configure_services(c, settings.sections("services"), settings.section("culler"), secrets)


# -- hub and proxy ------------------------------------------------------------------------------
def configure_hub(c, hub: Section, secrets: Section) -> None:
    public_url = hub.string("publicUrl")
    parsed = urlparse(public_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise hub.error("publicUrl", f"expected an http(s) URL such as https://hub.example.org, got {public_url!r}")
    base_url = parsed.path.rstrip("/") + "/"
    c.JupyterHub.base_url = base_url
    # JupyterHub 5: the public URL includes base_url and ends with a slash
    c.JupyterHub.public_url = urlunparse(parsed._replace(path=base_url, params="", query="", fragment=""))

    c.JupyterHub.log_level = hub.string("logLevel")

    # user servers on the Docker network reach the hub by its network alias
    c.JupyterHub.hub_ip = "0.0.0.0"
    c.JupyterHub.hub_port = HUB_PORT
    c.JupyterHub.hub_connect_ip = hub.string("connectHost")

    # the proxy runs in its own container: routes (and user servers) survive hub restarts
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = hub.string("proxyApiUrl")
    c.ConfigurableHTTPProxy.auth_token = secrets.string("proxyAuthToken")
    c.JupyterHub.cleanup_servers = False

    data_dir = hub.string("dataDir")
    if not os.path.isdir(data_dir):
        raise hub.error("dataDir", f"directory {data_dir} does not exist (the hub-data volume is mounted there)")
    c.JupyterHub.db_url = database_url(hub, secrets, data_dir)
    # a new JupyterHub version migrates the database at start (README, "Upgrading"); JupyterHub
    # copies a SQLite file to jupyterhub.sqlite.<timestamp> first
    c.JupyterHub.upgrade_db = True

    c.JupyterHub.cookie_secret = bytes.fromhex(secrets.string("cookieSecret"))

    # HTTPS by the stack's front proxy (hub.tls): JupyterHub marks its login cookies Secure from
    # the https public URL; cookie_options adds the XSRF cookie and, through the spawner
    # (JUPYTERHUB_COOKIE_OPTIONS), the user servers' cookies
    if hub.boolean("secureCookies", False):
        c.JupyterHub.tornado_settings = {"cookie_options": {"secure": True}}


def database_url(hub: Section, secrets: Section, data_dir: str) -> str:
    """SQLAlchemy URL of the hub database: PostgreSQL when settings name one, else SQLite in data_dir.

    JupyterHub shows the URL in its logs with the password replaced by [redacted].
    """
    if not hub.has("database"):
        return f"sqlite:///{data_dir.rstrip('/')}/jupyterhub.sqlite"
    # the contract says type postgres and a port in range
    db = hub.section("database")
    password = secrets.string("databasePassword")
    return "postgresql+psycopg2://{user}:{password}@{host}:{port}/{name}".format(
        user=quote(db.string("user"), safe=""),
        password=quote(password, safe=""),
        host=db.string("host"),
        port=db.integer("port"),
        name=quote(db.string("name"), safe=""),
    )


# -- authentication -----------------------------------------------------------------------------
def configure_auth(c, auth: Section, secrets: Section, data_dir: str) -> None:
    providers = auth.strings("providers")
    if len(set(providers)) != len(providers):
        raise auth.error("providers", "a provider is listed twice")
    multi = len(providers) > 1

    def hub_names(names: list[str], provider: str) -> set[str]:
        # with several providers JupyterHub user names carry the provider's prefix
        return {USERNAME_PREFIXES[provider] + n for n in names} if multi else set(names)

    admins: set[str] = set()
    native_admins = auth.strings("admins", [])
    if "native" in providers:
        configure_native(c, auth.section("native"), auth.strings("allowedUsers", []), native_admins, secrets)
        # failed logins outlive hub restarts and replacements (the hub-data volume)
        c.GmapNativeAuthenticator.login_attempts_file = os.path.join(data_dir, "native-login-attempts.json")
        admins |= hub_names(native_admins, "native")
    else:
        for key in ("admins", "allowedUsers"):
            if auth.strings(key, []):
                raise auth.error(key, 'lists native accounts, but "native" is not in providers')
    if "github" in providers:
        github = auth.section("github")
        configure_github(c, github, secrets, multi)
        admins |= hub_names(github.strings("admins", []), "github")
    if "gitlab" in providers:
        gitlab = auth.section("gitlab")
        configure_gitlab(c, gitlab, secrets, multi)
        admins |= hub_names(gitlab.strings("admins", []), "gitlab")
    # one rule for every user name (components/identity.ts userNameRule), with the provider prefix
    # when there are several: every other name is refused at sign-up, login and in the API
    rule = auth.string("userNameRule")
    prefixes = "(?:%s)" % "|".join(re.escape(USERNAME_PREFIXES[p]) for p in sorted(providers)) if multi else ""
    pattern = f"^{prefixes}{rule}$"
    try:
        re.compile(pattern)
    except re.error as e:
        raise auth.error("userNameRule", f"not a regular expression: {e}") from e
    c.Authenticator.username_pattern = pattern
    # the MultiAuthenticator and every provider see the same set of hub names
    c.Authenticator.admin_users = admins
    # the stack config is the truth: a name removed from an allow list can no longer log in
    # (JupyterHub 5 would otherwise keep allowing every user already in its database)
    c.Authenticator.allow_existing_users = False

    if multi:
        c.JupyterHub.authenticator_class = MULTI_AUTHENTICATOR
        c.MultiAuthenticator.authenticators = [
            {
                "authenticator_class": MULTI_PROVIDERS[p],
                "url_prefix": URL_PREFIXES[p],
                "config": {"login_service": LOGIN_SERVICES[p]},
            }
            for p in providers
        ]
    else:
        c.JupyterHub.authenticator_class = AUTHENTICATORS[providers[0]]


def configure_native(c, native: Section, allowed_users: list[str], admins: list[str], secrets: Section) -> None:
    hashes = secrets.string_map("nativeAdminPasswordHashes", {})
    missing = sorted(set(admins) - set(hashes))
    if missing:
        raise secrets.error("nativeAdminPasswordHashes", f"no generated password for the admin(s) {', '.join(missing)}")
    c.GmapNativeAuthenticator.admin_password_hashes = {name: hashes[name] for name in admins}
    n = c.NativeAuthenticator
    n.enable_signup = True
    set_traits(c, native, NATIVE_TRAITS)
    if allowed_users:
        # account names; with several providers MultiAuthenticator compares them without prefix
        n.allowed_users = set(allowed_users)
        n.allow_all = False
    else:
        # JupyterHub 5 needs an allow rule; sign-up plus admin approval is the gate
        n.allow_all = True


def _callback_url(section: Section, provider: str, multi: bool) -> str:
    """The callback URL as given (components/identity.ts derives it from the public URL); checked
    against the path the provider's callback handler is served at."""
    url = section.string("callbackUrl")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise section.error("callbackUrl", f"expected an http(s) URL, got {url!r}")
    handler = "/hub" + (URL_PREFIXES[provider] if multi else "") + "/oauth_callback"
    if not parsed.path.rstrip("/").endswith(handler):
        why = " (several providers: each has its own prefix)" if multi else ""
        raise section.error("callbackUrl", f"the {provider} callback handler is served at <public URL>{handler}{why}, got {url!r}")
    return url


def _oauth_users(section: Section) -> set[str]:
    """Explicitly allowed users of a provider: allowedUsers and the provider's admins.

    OAuthenticator lets its admins in by itself only when their bare login is in admin_users;
    with several providers admin_users holds prefixed names, so admins are allowed explicitly.
    """
    return set(section.strings("allowedUsers", [])) | set(section.strings("admins", []))


def _base_url(section: Section, key: str) -> str:
    url = section.string(key)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise section.error(key, f"expected an http(s) base URL without query or fragment, got {url!r}")
    return url.rstrip("/")


def configure_github(c, github: Section, secrets: Section, multi: bool) -> None:
    g = c.GitHubOAuthenticator
    g.client_id = github.string("clientId")
    g.client_secret = secrets.string("githubClientSecret")
    g.oauth_callback_url = _callback_url(github, "github", multi)
    orgs = github.strings("allowedOrganizations", [])
    g.allowed_organizations = set(orgs)
    # read:user is enough to log in; without read:org only public memberships are visible
    g.scope = ["read:user", "read:org"] if orgs else ["read:user"]
    g.allowed_users = _oauth_users(github)
    g.allow_all = github.boolean("allowAll", False)
    if github.has("url"):
        g.github_url = _base_url(github, "url")
    if github.has("apiUrl"):
        g.github_api = _base_url(github, "apiUrl")


def configure_gitlab(c, gitlab: Section, secrets: Section, multi: bool) -> None:
    g = c.GitLabOAuthenticator
    g.gitlab_url = _base_url(gitlab, "url")
    g.client_id = gitlab.string("clientId")
    g.client_secret = secrets.string("gitlabClientSecret")
    g.oauth_callback_url = _callback_url(gitlab, "gitlab", multi)
    groups = gitlab.strings("allowedGroups", [])
    project_ids = gitlab.integers("allowedProjectIds", [])
    g.allowed_gitlab_groups = set(groups)
    g.allowed_project_ids = set(project_ids)
    # group and project membership are read through the API
    g.scope = ["read_user", "read_api"] if groups or project_ids else ["read_user"]
    g.allowed_users = _oauth_users(gitlab)
    g.allow_all = gitlab.boolean("allowAll", False)


# -- spawner ------------------------------------------------------------------------------------
def _images(spawner: Section) -> tuple[list[dict], str]:
    images = []
    for entry in spawner.sections("images"):
        images.append(
            {
                "name": entry.string("name"),
                "displayName": entry.string("displayName"),
                "image": entry.string("image"),
            }
        )
    for field in ("name", "displayName", "image"):
        values = [i[field] for i in images]
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            raise spawner.error("images", f"{field} {dup[0]!r} is used by several images")
    default = spawner.string("defaultImage")
    if default not in {i["name"] for i in images}:
        raise spawner.error("defaultImage", f"{default!r} is not the name of an image ({', '.join(i['name'] for i in images)})")
    return images, default


def _mounts(spawner: Section, secrets: Section, swarm: bool = False) -> tuple[list[dict], dict]:
    """The mount specs and the driver options of the mounts the spawner creates, by mount name.

    ``driver`` (default Docker's ``local``) is the volume driver of a mount's driver options; a
    volume plugin may need none, the local driver always does. In swarm mode every node creates a
    volume with driver options on first use, shared ones too, and there are no per-user host
    directories (the hub creates those on its own host only)."""
    specs, driver_options = [], {}
    for m in spawner.sections("mounts", []):
        spec = {
            "name": m.string("name"),
            "type": m.string("type"),
            "source": m.string("source"),
            "target": m.string("target"),
            "read_only": m.boolean("readOnly"),
            "per_user": m.boolean("perUser"),
            "driver_options": m.boolean("driverOptions"),
            "driver": m.string("driver", "local"),
        }
        if spec["type"] == "bind" and not spec["source"].startswith("/"):
            raise m.error("source", f"a bind mount needs an absolute host path, got {spec['source']!r}")
        if swarm and spec["type"] == "bind" and spec["per_user"]:
            raise m.error("perUser", "per-user host directories are not available in swarm mode (servers run on any node); use a volume")
        if spec["driver_options"]:
            if spec["type"] != "volume" or not (spec["per_user"] or swarm):
                raise m.error("driverOptions", "only per-user volumes are created with driver options")
            options = secrets.section("mountDriverOptions").string_map(spec["name"])
            if not options and spec["driver"] == "local":
                raise secrets.error(f"mountDriverOptions.{spec['name']}", "must not be empty")
            driver_options[spec["name"]] = options
        specs.append(spec)
    names = [s["name"] for s in specs]
    targets = [s["target"] for s in specs]
    for what, values in (("name", names), ("target", targets)):
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            raise spawner.error("mounts", f"{what} {dup[0]!r} is used by several mounts")
    return specs, driver_options


def configure_spawner(c, spawner: Section, hooks: Section, secrets: Section, hub: Section) -> None:
    images, default = _images(spawner)
    default_image = next(i["image"] for i in images if i["name"] == default)
    swarm = spawner.section("swarm") if spawner.has("swarm") else None
    specs, driver_options = _mounts(spawner, secrets, swarm is not None)
    labels = spawner.string_map("labels", {})

    c.JupyterHub.spawner_class = SPAWNER_CLASS if swarm is None else SWARM_SPAWNER_CLASS

    d = c.DockerSpawner
    # every server on its own network (GmapDockerSpawner.network_name), reached at its address there
    d.use_internal_ip = True
    # a fresh container from the current image at every start; data lives in the mounts (a stopped
    # service always goes: SwarmSpawner has no remove option)
    if swarm is None:
        d.remove = True
    d.name_template = spawner.string("containerNameTemplate")
    d.image = default_image
    # several images: DockerSpawner lets users choose among allowed_images (label -> image)
    d.allowed_images = {i["displayName"]: i["image"] for i in images} if len(images) > 1 else {}

    set_traits(c, spawner, SPAWNER_TRAITS)

    # docker-stacks images started as root set the notebook user's ids, fix the ownership of the
    # home and the writable mounts, then drop to the notebook user
    environment = {
        "NB_UID": str(spawner.integer("uid")),
        "NB_GID": str(spawner.integer("gid")),
        "CHOWN_HOME": "yes",
    }
    writable = [s["target"] for s in specs if not s["read_only"]]
    if writable:
        environment["CHOWN_EXTRA"] = ",".join(writable)
    environment.update(spawner.string_map("environment", {}))
    d.environment = environment
    d.extra_create_kwargs = {"user": "root", "labels": dict(labels)}

    g = c.GmapDockerSpawner
    g.images = images
    g.default_image_name = default
    g.mount_specs = specs
    g.volume_labels = dict(labels)
    g.volume_driver_options = driver_options
    g.start_hook = hooks.optional_string("startScript")
    g.network_name_template = spawner.string("networkTemplate")
    g.network_labels = spawner.string_map("networkLabels")
    g.network_pool = spawner.string("networkPool")
    g.hub_container = hub.string("container")
    g.hub_alias = hub.string("connectHost")
    g.proxy_container = hub.string("proxyContainer")

    if swarm is not None:
        configure_swarm(c, swarm, {i["name"] for i in images})


def configure_swarm(c, swarm: Section, image_names: set[str]) -> None:
    """Swarm mode: where the servers' services may run, for every image and per image."""
    image_constraints = swarm.section("imageConstraints")
    per_image = {}
    for name in swarm.raw("imageConstraints"):
        if name not in image_names:
            raise image_constraints.error(name, f"{name!r} is not the name of an image ({', '.join(sorted(image_names))})")
        per_image[name] = image_constraints.strings(name)
    s = c.GmapSwarmSpawner
    s.constraints = swarm.strings("constraints")
    s.image_constraints = per_image


# -- hooks --------------------------------------------------------------------------------------
def configure_python_hooks(c, hooks: Section, data_dir: str) -> None:
    post_auth = hooks.optional_string("postAuth")
    operator_hook = load_hook(post_auth, "post_auth_hook", hooks.key_path("postAuth"), hooks.file) if post_auth else None
    # a hub user belongs to the provider that first signed it in; the operator's hook runs after
    c.Authenticator.post_auth_hook = ProviderOwnership(os.path.join(data_dir, "user-providers.json"), then=operator_hook)
    pre_spawn = hooks.optional_string("preSpawn")
    if pre_spawn:
        c.Spawner.pre_spawn_hook = load_hook(pre_spawn, "pre_spawn_hook", hooks.key_path("preSpawn"), hooks.file)


# -- services -----------------------------------------------------------------------------------
def configure_services(c, services: list[Section], culler: Section, secrets: Section) -> None:
    declared, roles = [], []
    tokens = secrets.section("serviceTokens") if services else None
    for svc in services:
        name = svc.string("name")
        if name == CULLER_SERVICE:
            raise svc.error("name", f"{CULLER_SERVICE!r} is reserved for the idle culler")
        if name in {s["name"] for s in declared}:
            raise svc.error("name", f"service {name!r} is declared twice")
        scopes = svc.strings("scopes")
        declared.append({"name": name, "api_token": tokens.string(name)})
        roles.append({"name": f"service-{name}", "description": f"Scopes of the {name} service", "scopes": scopes, "services": [name]})

    if culler.boolean("enabled"):
        timeout = culler.integer("timeout")
        every = culler.integer("every")
        max_age = culler.integer("maxAge")
        declared.append(
            {
                "name": CULLER_SERVICE,
                "command": [
                    sys.executable,
                    "-m",
                    "jupyterhub_idle_culler",
                    f"--timeout={timeout}",
                    f"--cull-every={every}",
                    f"--max-age={max_age}",
                ],
                "api_token": secrets.string("cullerToken"),
            }
        )
        roles.append(
            {
                "name": f"service-{CULLER_SERVICE}",
                "description": "Stops idle servers",
                "scopes": list(CULLER_SCOPES),
                "services": [CULLER_SERVICE],
            }
        )
    c.JupyterHub.services = declared
    c.JupyterHub.load_roles = roles


__all__ = ["apply", "SettingsError"]
