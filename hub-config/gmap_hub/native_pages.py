"""NativeAuthenticator's pages under a MultiAuthenticator URL prefix (``/hub/native/``).

NativeAuthenticator 1.3 knows nothing of URL prefixes: its pages link to, post to and redirect to
``/hub/login``, ``/hub/signup``, ``/hub/authorize`` and ``/hub/change-password`` (built from
``base_url``), which do not exist under a prefix. The handlers of :data:`SCOPED_HANDLERS` render
NativeAuthenticator's own templates with every link rewritten to the provider's prefix
(:class:`ScopedNativeTemplates`) and keep their redirects under it.
"""

from __future__ import annotations

import os
import re

from jinja2 import BaseLoader, ChoiceLoader, TemplateNotFound
from jupyterhub.utils import url_path_join
from nativeauthenticator import handlers as native_handlers

from .same_origin import SameOriginDiscardHandler, SameOriginToggleAuthorizationHandler

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


#: NativeAuthenticator's handler -> its replacement under a URL prefix (with the same-origin checks).
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
