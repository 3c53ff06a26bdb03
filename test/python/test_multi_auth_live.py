"""Native accounts beside GitHub and GitLab on a live hub: pages, forms and redirects stay under
/hub/native/, accounts are found by their bare name, native admins are made by the deployment.

The tests run the real hub configuration in-process (JupyterHub's tornado application on a
loopback port, no proxy, no spawner) and talk to it over HTTP like a browser.
"""

import asyncio
import contextlib
import re
import socket
from http.cookies import SimpleCookie
from types import SimpleNamespace
from urllib.parse import urlencode

from conftest import ADMIN_PASSWORD

PASSWORD = "Correct-Horse-Battery-9"


class Browser:
    """Cookies, no automatic redirects, the _xsrf field of the last page."""

    def __init__(self, base):
        from tornado.httpclient import AsyncHTTPClient
        from tornado.simple_httpclient import SimpleAsyncHTTPClient

        self.base = base
        self.cookies = {}
        self.xsrf = None
        self.client = SimpleAsyncHTTPClient(force_instance=True)
        assert isinstance(self.client, AsyncHTTPClient)

    async def request(self, method, path, fields=None, headers=None):
        hdrs = dict(headers or {})
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urlencode({"_xsrf": self.xsrf or "", **fields})
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        resp = await self.client.fetch(
            self.base + path,
            method=method,
            body=body,
            headers=hdrs,
            follow_redirects=False,
            raise_error=False,
            request_timeout=30,
        )
        for line in resp.headers.get_list("Set-Cookie"):
            for key, morsel in SimpleCookie(line).items():
                if morsel["expires"] and "1970" in morsel["expires"]:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = morsel.value
        text = resp.body.decode("utf-8", "replace") if resp.body else ""
        found = re.search(r'name="_xsrf"\s+value="([^"]+)"', text)
        if found:
            self.xsrf = found.group(1)
        return SimpleNamespace(code=resp.code, text=text, location=resp.headers.get("Location"))

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, fields):
        return self.request("POST", path, fields)

    async def whoami(self):
        resp = await self.get("/hub/api/user")
        if resp.code != 200:
            return None
        import json

        return json.loads(resp.text)


@contextlib.asynccontextmanager
async def live_hub(app):
    from tornado.httpserver import HTTPServer

    await app.initialize([])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    server = HTTPServer(app.tornado_application)
    server.add_sockets([sock])
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.stop()
        await server.close_all_connections()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=120))


def native_account(app, name):
    native = next(a for a in app.authenticator._authenticators if a.url_scope == "/native")
    return native.get_user(name)


def hrefs(text):
    return set(re.findall(r'(?:href|action)="([^"]*)"', text)) | set(re.findall(r"href='([^']*)'", text))


def test_login_page_offers_every_provider_under_its_prefix(multi_hub):
    async def scenario():
        async with live_hub(multi_hub) as base:
            page = await Browser(base).get("/hub/login")
            assert page.code == 200
            links = hrefs(page.text)
            for url in ("/hub/native/login", "/hub/github/oauth_login", "/hub/gitlab/oauth_login"):
                assert any(link.startswith(url) for link in links), f"no link to {url}: {sorted(links)}"

    run(scenario())


def test_native_pages_link_post_and_redirect_under_the_prefix(multi_hub):
    async def scenario():
        async with live_hub(multi_hub) as base:
            b = Browser(base)
            login = await b.get("/hub/native/login")
            assert login.code == 200
            assert 'action="/hub/native/login?next="' in login.text
            assert "/hub/native/signup" in hrefs(login.text)
            assert not {"/hub/signup", "/hub/login?next="} & hrefs(login.text)

            signup = await b.get("/hub/native/signup")
            assert signup.code == 200
            assert "/hub/native/login" in hrefs(signup.text)

            # nobody can sign up as the admin: the deployment made that account
            done = await b.post("/hub/native/signup", {"username": "admin", "signup_password": PASSWORD, "signup_password_confirmation": PASSWORD})
            assert "already in use" in done.text
            ada = Browser(base)
            await ada.get("/hub/native/signup")
            pending = await ada.post("/hub/native/signup", {"username": "ada", "signup_password": PASSWORD, "signup_password_confirmation": PASSWORD})
            assert "Your information has been sent to the admin" in pending.text
            # "github:x" as a native account would be confusing: refused
            bad = await ada.post("/hub/native/signup", {"username": "github:eve", "signup_password": PASSWORD, "signup_password_confirmation": PASSWORD})
            assert "Something went wrong" in bad.text

            await ada.get("/hub/native/login")
            refused = await ada.post("/hub/native/login?next=", {"username": "ada", "password": PASSWORD})
            assert refused.code == 200 and "has not been authorized" in refused.text
            assert await ada.whoami() is None

            await b.get("/hub/native/login")
            assert (await b.post("/hub/native/login?next=", {"username": "admin", "password": PASSWORD})).code == 200
            ok = await b.post("/hub/native/login?next=", {"username": "admin", "password": ADMIN_PASSWORD})
            assert ok.code == 302, ok.text[:500]
            me = await b.whoami()
            assert (me["name"], me["admin"]) == ("native:admin", True)

            area = await b.get("/hub/native/authorize")
            assert area.code == 200
            links = hrefs(area.text)
            assert {"/hub/native/authorize/ada", "/hub/native/change-password/ada", "/hub/native/discard/ada"} <= links
            assert {"/hub/native/change-password", "/hub/native/authorize"} <= links, "nav links of the native pages"
            assert not any(re.match(r"^/hub/(authorize|change-password|discard|signup)", link) for link in links)

            # a link or image on another site cannot make the admin's browser authorize anyone
            for foreign in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Referer": "http://evil.example/page"}):
                refused = await b.request("GET", "/hub/native/authorize/ada", headers=foreign)
                assert refused.code == 403, (foreign, refused.code)
                assert (await b.request("GET", "/hub/native/discard/ada", headers=foreign)).code == 403
            assert native_account(multi_hub, "ada").is_authorized is False

            toggled = await b.request("GET", "/hub/native/authorize/ada", headers={"Sec-Fetch-Site": "same-origin"})
            assert (toggled.code, toggled.location) == (302, "/hub/native/authorize#ada")

            await ada.get("/hub/native/login")
            assert (await ada.post("/hub/native/login?next=", {"username": "ada", "password": PASSWORD})).code == 302
            me = await ada.whoami()
            assert (me["name"], me["admin"]) == ("native:ada", False)

            # change password looks the account up by the hub user's name (native:ada)
            page = await ada.get("/hub/native/change-password")
            assert page.code == 200
            new = PASSWORD + "-2"
            changed = await ada.post("/hub/native/change-password", {"old_password": PASSWORD, "new_password": new, "new_password_confirmation": new})
            assert "changed successfully" in changed.text

            # discarding an unauthorized sign-up goes back to the scoped authorization area
            bob = Browser(base)
            await bob.get("/hub/native/signup")
            await bob.post("/hub/native/signup", {"username": "bob", "signup_password": PASSWORD, "signup_password_confirmation": PASSWORD})
            discarded = await b.get("/hub/native/discard/bob")
            assert (discarded.code, discarded.location) == (302, "/hub/native/authorize")
            native = next(a for a in multi_hub.authenticator._authenticators if a.url_scope == "/native")
            assert native.get_user("bob") is None

            # deleting the hub user native:ada deletes the account, so "ada" can sign up again
            multi_hub.authenticator.delete_user(SimpleNamespace(name="native:ada"))
            assert native.get_user("ada") is None

    run(scenario())


def test_native_account_lookup_accepts_hub_and_bare_names(multi_hub):
    async def scenario():
        async with live_hub(multi_hub):
            native = next(a for a in multi_hub.authenticator._authenticators if a.url_scope == "/native")
            assert native.create_user("carl", PASSWORD) is not None
            assert native.get_user("carl").username == "carl"
            assert native.get_user("native:carl").username == "carl"
            assert native.get_user("github:carl") is None
            assert native.hub_user_name("carl") == "native:carl"
            assert native.user_exists("Admin") and not native.create_user("admin", PASSWORD)
            assert native.get_user("native:admin").is_authorized, "the admin account is made on first lookup"
            assert native.get_authed_users() == {"admin"}, "carl is not authorized by signing up"

    run(scenario())


async def maybe_await(value):
    import inspect

    return await value if inspect.isawaitable(value) else value


def test_a_providers_admins_may_log_in_without_other_rules(multi_hub):
    """OAuthenticator lets admins in only when their bare login is in admin_users, which holds the
    prefixed names with several providers: the admins are allowed explicitly instead."""

    async def scenario():
        async with live_hub(multi_hub):
            github = next(a for a in multi_hub.authenticator._authenticators if a.url_scope == "/github")
            gitlab = next(a for a in multi_hub.authenticator._authenticators if a.url_scope == "/gitlab")
            model = {"name": "github:gh-admin", "admin": None, "auth_state": {}}
            assert await maybe_await(github.check_allowed("github:gh-admin", model)) is True
            assert "gl-admin" in gitlab.allowed_users
            assert github.is_admin(None, {"name": "github:gh-admin"}) is True
            assert github.is_admin(None, {"name": "github:octocat"}) is None
            # the wrapper never lets another provider's user in
            assert await maybe_await(github.check_allowed("gitlab:gh-admin", model)) is False

    run(scenario())
