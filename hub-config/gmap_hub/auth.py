"""The authenticator classes the hub configuration names (gmap_hub.configure.providers).

- :class:`GmapNativeAuthenticator`: NativeAuthenticator whose admin accounts are created by the
  deployment, never by whoever signs up first: the names of ``auth.admins`` cannot be signed up
  (they count as taken), each gets its account with the password the deployment generated (only
  its bcrypt hash reaches the hub, in secrets.json) the first time it is looked up, and sign-up
  never pre-authorizes a configured name (NativeAuthenticator 1.3 authorizes admin and allowed
  names at sign-up, so the first to sign up as ``admin`` would be a hub admin). Its lockout after
  failed logins counts per account *and* client address (a stranger cannot lock the admin out),
  survives hub restarts and replacements (a JSON file in the hub-data volume) and expires as
  configured (1.3 keeps it in memory and compares ``timedelta.seconds``, so a lockout of a day or
  more never ends). Its authorize and discard actions check the origin (gmap_hub.same_origin).
- :class:`MultiNativeAuthenticator`: the same as one provider of MultiAuthenticator 0.4, which
  serves each provider under its own URL prefix and prefixes user names (``native:ada``).
- :class:`GmapMultiAuthenticator`: MultiAuthenticator with the user-name prefixes of settings.json
  and user deletion forwarded to the provider that owns the user.
- :class:`GmapGitLabOAuthenticator`: OAuthenticator 17's GitLab class with its subgroup membership
  check fixed (jupyterhub/oauthenticator#423).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from urllib.parse import quote

import bcrypt
from multiauthenticator import MultiAuthenticator
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.orm import UserInfo
from oauthenticator.gitlab import GitLabOAuthenticator, _api_headers
from traitlets import Dict, Unicode, default

from .client_address import ProxyAddresses, client_address, container_addresses, peer_address
from .native_pages import SCOPED_HANDLERS
from .same_origin import SAME_ORIGIN_HANDLERS
from .state import read_state, write_state

#: Failed-login entries kept at most (account and address pairs within their lockout time).
MAX_ATTEMPT_ENTRIES = 10_000

#: The client address of the login being checked (lockouts count per account and address).
_client_address: contextvars.ContextVar[str] = contextvars.ContextVar("gmap_client_address", default="")


class GmapNativeAuthenticator(NativeAuthenticator):
    """NativeAuthenticator with deployment-created admin accounts and a lasting lockout (see the module docstring).
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
    proxy_container = Unicode(
        "",
        config=True,
        help="The proxy's container: requests from its addresses carry the client's in X-Forwarded-For (empty: every request's own peer is the client).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.login_attempts = self._load_attempts()
        # without a proxy container (a hub reached directly) every request's own peer is the client
        self._proxies = ProxyAddresses(container_addresses(self.proxy_container) if self.proxy_container else list)

    async def _client_address(self, request) -> str:
        """The address the lockout counts: the one the stack's proxy saw (gmap_hub.client_address)."""
        if request is None:
            return ""
        if self._proxies.needs_lookup(peer_address(request)):
            await asyncio.to_thread(self._proxies.refresh)
        return client_address(request, self._proxies)

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
        # bounded: expired entries go, and only the newest MAX_ATTEMPT_ENTRIES stay
        live = sorted(((k, v) for k, v in self.login_attempts.items() if not self._expired(v)), key=lambda kv: kv[1]["time"])
        self.login_attempts = dict(live[-MAX_ATTEMPT_ENTRIES:])
        if self.login_attempts_file:
            write_state(self.login_attempts_file, self.login_attempts)

    def _attempt_key(self, username: str) -> str:
        return f"{self.normalize_username(username)} {_client_address.get()}"

    def _expired(self, entry: dict) -> bool:
        return time.time() - entry["time"] >= self.seconds_before_next_try

    async def authenticate(self, handler, data):
        token = _client_address.set(await self._client_address(getattr(handler, "request", None)))
        try:
            user = await self._password_checked(data)
            try:
                return await super().authenticate(handler, data)
            finally:
                if user is not None:
                    user.__dict__.pop("is_valid_password", None)
        finally:
            _client_address.reset(token)

    async def _password_checked(self, data) -> UserInfo | None:
        """Checks the password's bcrypt hash in a thread, so that a flood of logins does not stall the
        hub's event loop, and hands the verdict to NativeAuthenticator's own check of this login
        (set and used without a pause in between: other logins cannot interleave)."""
        name = self.normalize_username(data.get("username") or "")
        user = self.get_user(name) if name else None
        password = data.get("password")
        if user is None or not isinstance(password, str) or (self.allowed_failed_logins and self.is_blocked(name)):
            return None
        stored = user.password
        verdict = await asyncio.to_thread(lambda: bcrypt.hashpw(password.encode(), stored) == stored)
        user.is_valid_password = lambda _password: verdict
        return user

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
    """MultiAuthenticator whose providers' user-name prefixes are those of settings.json (each
    entry's ``username_prefix``; MultiAuthenticator would derive them from the login service), and
    that forwards user deletion to the provider owning the user, so that deleting ``native:ada``
    in the admin panel also removes the account ``ada`` (else ``ada`` could never sign up again)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for entry, authenticator in zip(self.authenticators, self._authenticators, strict=True):
            if isinstance(entry, dict) and entry.get("username_prefix") is not None:
                authenticator.prefix = entry["username_prefix"]

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
