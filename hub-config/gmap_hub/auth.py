"""Authenticator adjustments: deployment-created native admins, several providers at once.

:class:`GmapNativeAuthenticator` is NativeAuthenticator whose admin accounts are created by the
deployment, never by whoever signs up first: the names of ``auth.admins`` cannot be signed up
(they count as taken), each gets its account with the password Pulumi generated (only its bcrypt
hash reaches the hub, in secrets.json) the first time it is looked up, and sign-up never
pre-authorizes a configured name (NativeAuthenticator 1.3 authorizes admin and allowed names at
sign-up, so the first to sign up as ``admin`` would be a hub admin). Its lockout after failed
logins counts per account *and* client address (a stranger cannot lock the admin out), survives hub
restarts and replacements (a JSON file in the hub-data volume) and expires as configured (1.3 keeps
it in memory and compares ``timedelta.seconds``, so a lockout of a day or more never ends). The
authorize and discard actions (GET links) refuse requests that another site made the browser send.

:class:`ProviderOwnership` (the hub's post-auth hook) keeps a hub user with the provider that first
signed it in: after a switch of providers (GitHub alone, then native accounts alone, say) someone
else with the same login cannot take over the old user's server, volume and admin flag.

With one provider the hub uses GmapNativeAuthenticator, GitHubOAuthenticator or
GmapGitLabOAuthenticator. With several, MultiAuthenticator 0.4 serves each provider under its own URL prefix
(``/hub/native/``, ``/hub/github/``, ``/hub/gitlab/``) and prefixes user names with the provider
(``native:ada``, ``github:ada``). NativeAuthenticator 1.3 does not know about either:

- its pages link to, post to and redirect to ``/hub/login``, ``/hub/signup``, ``/hub/authorize``
  and ``/hub/change-password`` (built from ``base_url``), which do not exist under a prefix;
- it looks its accounts up by the hub user name, which now carries the prefix;
- it needs the hub's database session, which JupyterHub hands only to the MultiAuthenticator.

:class:`MultiNativeAuthenticator` fixes these (its handlers render NativeAuthenticator's own
templates with every link rewritten to the provider's prefix, see :class:`ScopedNativeTemplates`),
and :class:`GmapMultiAuthenticator` forwards user deletion to the provider that owns the user.

:class:`GmapGitLabOAuthenticator` fixes OAuthenticator 17's check of GitLab subgroup membership
(jupyterhub/oauthenticator#423: the group path is URL-encoded twice, so ``group/subgroup`` is
never found); it is used with one provider and with several.
"""

from __future__ import annotations

import contextvars
import inspect
import json
import os
import re
import time
from urllib.parse import quote, urlparse

from jinja2 import BaseLoader, ChoiceLoader, TemplateNotFound
from jupyterhub.utils import url_path_join
from multiauthenticator import MultiAuthenticator
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator import handlers as native_handlers
from nativeauthenticator.orm import UserInfo
from oauthenticator.github import GitHubOAuthenticator
from oauthenticator.gitlab import GitLabOAuthenticator, _api_headers
from tornado import web
from traitlets import Dict, Unicode, default

#: Template names under which :class:`ScopedNativeTemplates` serves NativeAuthenticator's templates.
TEMPLATE_PREFIX = "gmap-native/"
#: NativeAuthenticator's templates (nativeauthenticator/templates).
NATIVE_TEMPLATES = frozenset(name for name in os.listdir(native_handlers.TEMPLATE_DIR) if name.endswith(".html"))
#: Pages of NativeAuthenticator that its templates link to as ``{{ base_url }}<page>``.
NATIVE_PAGES = ("login", "signup", "authorize", "change-password", "discard", "confirm")

_REWRITES = (
    # links to the provider's own pages: /hub/<page> -> /hub/native/<page>
    (re.compile(r"\{\{\s*base_url\s*\}\}(?=(?:%s)\b)" % "|".join(map(re.escape, NATIVE_PAGES))), "{{ native_url }}"),
    # the login form posts to the hub's login URL: post to the provider's login handler instead
    (re.compile(r"\{\{\s*login_url\s*\}\}"), "{{ native_login_url }}"),
    # NativeAuthenticator's page.html adds its nav links: use the rewritten copy
    (re.compile(r"""\{%\s*extends\s+["']page\.html["']\s*%\}"""), '{%% extends "%spage.html" %%}' % TEMPLATE_PREFIX),
)


def scoped_template_source(source: str) -> str:
    """A NativeAuthenticator template with its links rewritten to the provider's URL prefix."""
    for pattern, replacement in _REWRITES:
        source = pattern.sub(replacement, source)
    return source


class ScopedNativeTemplates(BaseLoader):
    """Jinja loader of ``gmap-native/<name>``: NativeAuthenticator's template ``<name>``, rewritten
    by :func:`scoped_template_source` so that links use ``native_url`` (e.g. ``/hub/native/``) and
    the login form posts to ``native_login_url``."""

    def get_source(self, environment, template):
        if not template.startswith(TEMPLATE_PREFIX):
            raise TemplateNotFound(template)
        name = template[len(TEMPLATE_PREFIX) :]
        if name not in NATIVE_TEMPLATES:
            raise TemplateNotFound(template)
        path = os.path.join(native_handlers.TEMPLATE_DIR, name)
        with open(path, encoding="utf-8") as f:
            source = scoped_template_source(f.read())
        mtime = os.path.getmtime(path)
        return source, path, lambda: os.path.getmtime(path) == mtime


def add_scoped_templates(env) -> None:
    """Adds :class:`ScopedNativeTemplates` to a Jinja environment once."""
    if getattr(env, "_gmap_native_templates", False):
        return
    env.loader = ChoiceLoader([env.loader, ScopedNativeTemplates()])
    env._gmap_native_templates = True


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


class _ScopedNativeHandler:
    """Mixin of NativeAuthenticator's handlers under a MultiAuthenticator URL prefix."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key in ("jinja2_env", "jinja2_env_sync"):
            if key in self.settings:
                add_scoped_templates(self.settings[key])

    @property
    def native_url(self) -> str:
        """The provider's URL prefix under the hub, e.g. ``/hub/native/``."""
        return url_path_join(self.hub.base_url, getattr(self.authenticator, "url_scope", "")) + "/"

    def render_template(self, name, *args, **ns):
        if name in NATIVE_TEMPLATES:
            name = TEMPLATE_PREFIX + name
            ns.setdefault("native_url", self.native_url)
            ns.setdefault("native_login_url", self.authenticator.login_url(self.hub.base_url))
        return super().render_template(name, *args, **ns)

    def redirect(self, url, *args, **kwargs):
        # ToggleAuthorizationHandler and DiscardHandler go back to <base_url>authorize
        hub_authorize = self.hub.base_url + "authorize"
        if isinstance(url, str) and url.startswith(hub_authorize):
            url = self.native_url + url[len(self.hub.base_url) :]
        return super().redirect(url, *args, **kwargs)


class ScopedLoginHandler(_ScopedNativeHandler, native_handlers.LoginHandler):
    pass


class ScopedSignUpHandler(_ScopedNativeHandler, native_handlers.SignUpHandler):
    pass


class ScopedAuthorizationAreaHandler(_ScopedNativeHandler, native_handlers.AuthorizationAreaHandler):
    pass


class ScopedToggleAuthorizationHandler(_ScopedNativeHandler, SameOriginToggleAuthorizationHandler):
    pass


class ScopedEmailAuthorizationHandler(_ScopedNativeHandler, native_handlers.EmailAuthorizationHandler):
    pass


class ScopedChangePasswordHandler(_ScopedNativeHandler, native_handlers.ChangePasswordHandler):
    pass


class ScopedChangePasswordAdminHandler(_ScopedNativeHandler, native_handlers.ChangePasswordAdminHandler):
    pass


class ScopedDiscardHandler(_ScopedNativeHandler, SameOriginDiscardHandler):
    @native_handlers.admin_users_scope
    async def get(self, user_name):
        user = self.authenticator.get_user(user_name)
        if user is not None and not user.is_authorized:
            # the account (users_info) has the bare name, the hub user the prefixed one
            hub_name = self.authenticator.hub_user_name(user.username)
            self.authenticator.delete_user(type("User", (), {"name": hub_name}))
            if self.users.get(hub_name) is not None:
                self.users.delete(hub_name)
        self.redirect(self.hub.base_url + "authorize")


#: NativeAuthenticator's handler -> its replacement under a URL prefix.
SCOPED_HANDLERS = {
    native_handlers.LoginHandler: ScopedLoginHandler,
    native_handlers.SignUpHandler: ScopedSignUpHandler,
    native_handlers.AuthorizationAreaHandler: ScopedAuthorizationAreaHandler,
    native_handlers.ToggleAuthorizationHandler: ScopedToggleAuthorizationHandler,
    native_handlers.EmailAuthorizationHandler: ScopedEmailAuthorizationHandler,
    native_handlers.ChangePasswordHandler: ScopedChangePasswordHandler,
    native_handlers.ChangePasswordAdminHandler: ScopedChangePasswordAdminHandler,
    native_handlers.DiscardHandler: ScopedDiscardHandler,
}


#: Provider names (as in ``auth.providers``) and the authenticator classes they use.
PROVIDER_CLASSES = (("native", NativeAuthenticator), ("github", GitHubOAuthenticator), ("gitlab", GitLabOAuthenticator))


def provider_of(authenticator) -> str:
    """The provider name of an authenticator of this hub."""
    return next((name for name, cls in PROVIDER_CLASSES if isinstance(authenticator, cls)), type(authenticator).__name__)


def read_state(path: str) -> dict:
    """A JSON state file of the hub in the hub-data volume; {} when it does not exist yet."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def write_state(path: str, data: dict) -> None:
    """Replaces a JSON state file at once (a crash never leaves half a file)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, sort_keys=True)
    os.replace(tmp, path)


class ProviderOwnership:
    """Post-auth hook: records which provider signed each hub user in first (a JSON file in the
    hub-data volume) and refuses a login of the same hub user name through another provider. Then
    runs ``then`` (the operator's post-auth hook), if any."""

    def __init__(self, path: str, then=None):
        self.path = path
        self.then = then

    async def __call__(self, authenticator, handler, authentication):
        name, provider = authentication["name"], provider_of(authenticator)
        owners = read_state(self.path)
        owner = owners.get(name)
        if owner is not None and owner != provider:
            authenticator.log.warning("Refused %s sign-in as %s: that hub user belongs to %s sign-in", provider, name, owner)
            return None
        if owner is None:
            owners[name] = provider
            write_state(self.path, owners)
        if self.then is None:
            return authentication
        result = self.then(authenticator, handler, authentication)
        return await result if inspect.isawaitable(result) else result


#: The client address of the login being checked (lockouts count per account and address).
_client_address: contextvars.ContextVar[str] = contextvars.ContextVar("gmap_client_address", default="")


class GmapNativeAuthenticator(NativeAuthenticator):
    """NativeAuthenticator with deployment-created admin accounts (see the module docstring).
    Configure it as ``NativeAuthenticator``; ``admin_password_hashes`` comes from secrets.json."""

    admin_password_hashes = Dict(
        Unicode(),
        config=True,
        help="Account name -> bcrypt hash of the password the deployment generated for that admin.",
    )
    login_attempts_file = Unicode(
        "",
        config=True,
        help="JSON file keeping the failed logins across hub restarts (empty: in memory only).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.login_attempts = self._load_attempts()

    # -- lockout: per account and client address, persisted, expiring --------------------------
    def _load_attempts(self) -> dict:
        if not self.login_attempts_file:
            return {}
        try:
            data = read_state(self.login_attempts_file)
            return {k: {"count": int(v["count"]), "time": float(v["time"])} for k, v in data.items()}
        except (OSError, ValueError, KeyError, TypeError) as e:
            self.log.warning("Ignoring unreadable %s: %s", self.login_attempts_file, e)
            return {}

    def _save_attempts(self) -> None:
        if self.login_attempts_file:
            write_state(self.login_attempts_file, self.login_attempts)

    def _attempt_key(self, username: str) -> str:
        return f"{self.normalize_username(username)} {_client_address.get()}"

    def _expired(self, entry: dict) -> bool:
        return time.time() - entry["time"] >= self.seconds_before_next_try

    async def authenticate(self, handler, data):
        request = getattr(handler, "request", None)
        token = _client_address.set(getattr(request, "remote_ip", "") or "")
        try:
            return await super().authenticate(handler, data)
        finally:
            _client_address.reset(token)

    def add_login_attempt(self, username):
        key = self._attempt_key(username)
        entry = self.login_attempts.get(key)
        count = 1 if entry is None or self._expired(entry) else entry["count"] + 1
        self.login_attempts[key] = {"count": count, "time": time.time()}
        self._save_attempts()

    def can_try_to_login_again(self, username):
        entry = self.login_attempts.get(self._attempt_key(username))
        return entry is None or self._expired(entry)

    def is_blocked(self, username):
        entry = self.login_attempts.get(self._attempt_key(username))
        return entry is not None and entry["count"] >= self.allowed_failed_logins and not self._expired(entry)

    def successful_login(self, username):
        if self.login_attempts.pop(self._attempt_key(username), None) is not None:
            self._save_attempts()

    def get_handlers(self, app):
        return [(path, SAME_ORIGIN_HANDLERS.get(handler, handler)) for path, handler in super().get_handlers(app)]

    # -- deployment-created admins -----------------------------------------------------------

    def user_exists(self, username):
        # an admin name is taken from the start: sign-up refuses it as "already in use"
        return self.normalize_username(username) in self.admin_password_hashes or super().user_exists(username)

    def get_user(self, username):
        name = self.normalize_username(username)
        user = super().get_user(name)
        password_hash = self.admin_password_hashes.get(name)
        if password_hash is None or (user is not None and user.is_authorized):
            # an admin who changed the password keeps it
            return user
        if user is None:
            user = UserInfo(username=name, password=password_hash.encode(), is_authorized=True)
            self.db.add(user)
        else:
            # a pending sign-up under an admin's name (made before the name was reserved) is no admin
            user.password = password_hash.encode()
            user.is_authorized = True
        self.db.commit()
        self.log.info("Created the account of admin %s with the password the deployment generated", name)
        return user

    def get_authed_users(self):
        # authorized accounts only: a name in admin_users or allowed_users is not authorized at sign-up
        return {info.username for info in UserInfo.all_users(self.db) if info.is_authorized}


class MultiNativeAuthenticator(GmapNativeAuthenticator):
    """NativeAuthenticator as one provider of MultiAuthenticator. Configure it as ``NativeAuthenticator``.

    - Database: JupyterHub hands its database session only to the authenticator it creates (the
      MultiAuthenticator); MultiAuthenticator 0.4 creates its providers with ``parent=self`` and
      nothing else, so NativeAuthenticator, which keeps its accounts in that database, would fail
      at start. This class takes the session from its parent.
    - Names: accounts keep the bare name (``ada``, as typed at sign-up); the hub user is
      ``<prefix>ada``. :meth:`get_user` accepts both, so "change password" (which passes the hub
      user's name) works. Names with ``:`` cannot sign up, so the two never mix.
    - Admins: ``admin_users`` holds hub names (``native:admin``); their accounts (bare names)
      are made by :class:`GmapNativeAuthenticator` from ``admin_password_hashes``.
    - Pages: every handler is replaced by one that keeps links, forms and redirects under the
      provider's URL prefix (:data:`SCOPED_HANDLERS`).
    """

    @default("db")
    def _db_from_parent(self):
        parent = self.parent
        if parent is not None and getattr(parent, "db", None) is not None:
            return parent.db
        return self._deprecated_db_session

    @property
    def _own_prefix(self) -> str:
        # MultiAuthenticator's wrapper class defines username_prefix; outside it there is none
        return getattr(self, "username_prefix", "") or ""

    def bare_name(self, name: str) -> str:
        """The account name of a hub user name of this provider (prefix removed)."""
        prefix = self._own_prefix
        return name[len(prefix) :] if prefix and name.startswith(prefix) else name

    def hub_user_name(self, account_name: str) -> str:
        """The hub user name of an account."""
        return self._own_prefix + account_name

    def get_user(self, username):
        return super().get_user(self.bare_name(username))

    def validate_username(self, username):
        # the hub's name rule includes the provider prefix; accounts carry the bare name
        return super().validate_username(username if ":" in username else self.hub_user_name(username))

    def create_user(self, username, password, **kwargs):
        if ":" in username:
            # a "github:x" account would be the hub user "native:github:x": refuse the confusion
            return None
        return super().create_user(username, password, **kwargs)

    def get_handlers(self, app):
        # NativeAuthenticator's own handlers, each replaced by its scoped version (which keeps the
        # same-origin checks of GmapNativeAuthenticator's)
        return [(path, SCOPED_HANDLERS.get(handler, handler)) for path, handler in NativeAuthenticator.get_handlers(self, app)]


class GmapMultiAuthenticator(MultiAuthenticator):
    """MultiAuthenticator that forwards user deletion to the provider owning the user, so that
    deleting ``native:ada`` in the admin panel also removes the account ``ada`` (else ``ada``
    could never sign up again)."""

    def delete_user(self, user):
        for authenticator in self._authenticators:
            if user.name.startswith(authenticator.username_prefix):
                return authenticator.delete_user(user)
        return super().delete_user(user)


class GmapGitLabOAuthenticator(GitLabOAuthenticator):
    """GitLabOAuthenticator whose group rule works for subgroups. Configure it as ``GitLabOAuthenticator``.

    GitLab's API takes a group as its id or its full path URL-encoded once (``gmap%2Fscience``);
    OAuthenticator 17.4 encodes the path twice (``gmap%252Fscience``), which only works for
    top-level groups (jupyterhub/oauthenticator#423). This encodes once; the rest is unchanged.
    """

    async def _check_membership_allowed_groups(self, user_id, access_token):
        headers = _api_headers(access_token)
        await self._set_gitlab_version(access_token)
        for group in sorted(self.allowed_gitlab_groups):
            url = "%s/groups/%s/members/%s%d" % (
                self.gitlab_api,
                quote(str(group), safe=""),
                self.member_api_variant,
                user_id,
            )
            resp = await self.httpfetch(
                url,
                parse_json=False,
                raise_error=False,
                method="GET",
                headers=headers,
                validate_cert=self.validate_server_cert,
            )
            if resp.code == 200:
                return True
        return False
