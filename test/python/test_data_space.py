"""A full hub-data volume: below the reserve (hub.dataReserveMiB) the hub refuses changes with a
clear 503 before doing anything, keeps serving reads and signed-in users, turns a write that fails
for want of space into the same answer, and when space is back settles the servers that ended
meanwhile."""

import asyncio
import json
import logging
import sqlite3
from types import SimpleNamespace

import pytest
from conftest import ADMIN_PASSWORD
from gmap_hub.app import GmapHub
from gmap_hub.data_space import FULL_MESSAGE, DataSpace, MiB, disk_full
from sqlalchemy.exc import OperationalError
from test_multi_auth_live import Browser, live_hub, run

TOKEN = "e2e-token-0123456789"


class Disk:
    """A statvfs whose free space the test sets, and a clock it moves."""

    def __init__(self, free):
        self.free = free
        self.now = 1000.0

    def statvfs(self, path):
        return SimpleNamespace(f_bavail=self.free // 4096, f_frsize=4096)

    def clock(self):
        return self.now


@pytest.fixture
def disk():
    return Disk(free=1024 * MiB)


def space(disk, reserve=64 * MiB, name="test-data-space"):
    return DataSpace("/data", reserve, logging.getLogger(name), statvfs=disk.statvfs, clock=disk.clock)


def test_full_below_the_reserve_logged_once_per_change(disk, caplog):
    s = space(disk)
    back = []
    s.on_space_back(lambda: back.append(True))
    caplog.set_level(logging.INFO, logger="test-data-space")
    assert s.check() is False
    disk.free = 100 * MiB  # below twice the reserve: a warning, still writable
    assert s.check() is False
    disk.free = 10 * MiB
    assert s.check() is True and s.check() is True
    disk.free = 500 * MiB
    assert s.check() is False and s.check() is False
    levels = [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records]
    assert [lv for lv, _ in levels] == ["WARNING", "ERROR", "INFO"], levels
    assert "10.0 MiB free" in caplog.records[1].getMessage() and "hub.dataReserveMiB" in caplog.records[0].getMessage()
    assert back == [True]


def test_requests_read_the_free_space_at_most_once_a_second(disk):
    s = space(disk)
    reads = []
    real = disk.statvfs
    s._statvfs = lambda path: reads.append(path) or real(path)
    s.refuses_writes()
    disk.free = 0
    assert s.refuses_writes() is False, "read less than a second ago"
    disk.now += 1.0
    assert s.refuses_writes() is True
    assert len(reads) == 2


def test_a_failed_write_refuses_changes_until_a_check_after_the_interval(disk):
    s = space(disk, reserve=0)
    assert s.refuses_writes() is False
    s.write_failed(OSError(28, "No space left on device"))
    assert s.full is True
    disk.now += DataSpace.interval / 2
    assert s.check() is True, "held"
    disk.now += DataSpace.interval
    assert s.check() is False, "the reserve is 0 and the hold is over"


def test_unreadable_free_space_refuses_nothing(disk):
    s = space(disk)

    def broken(path):
        raise OSError(5, "Input/output error")

    s._statvfs = broken
    assert s.check() is False


def test_disk_full_errors_are_recognised_through_wrappers():
    sqlite_full = OperationalError("UPDATE users SET last_activity=?", {}, sqlite3.OperationalError("database or disk is full"))
    assert disk_full(sqlite_full)
    assert disk_full(OSError(28, "No space left on device"))
    pg = OperationalError("INSERT", {}, Exception('could not extend file "base/16384/2619": No space left on device'))
    assert disk_full(pg)
    try:
        try:
            raise OSError(122, "Disk quota exceeded")
        except OSError as e:
            raise RuntimeError("saving failed") from e
    except RuntimeError as chained:
        assert disk_full(chained)
    assert not disk_full(OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked")))
    assert not disk_full(None)


def test_the_settings_reach_the_hub(hub, settings, secrets):
    settings["hub"]["dataReserveMiB"] = 128
    app = hub(settings, secrets, app_class=GmapHub)
    assert app.config.GmapHub.data_reserve_mib == 128
    assert app.config.GmapHub.data_dir == settings["hub"]["dataDir"]


@pytest.fixture
def gmap_hub(hub, settings, secrets):
    settings["culler"]["enabled"] = False
    return hub(settings, secrets, app_class=GmapHub)


async def api(browser, method, path):
    """A request of the admin-scoped service with its token (POST and DELETE with an empty JSON body)."""
    resp = await browser.client.fetch(
        browser.base + path,
        method=method,
        body="{}" if method == "POST" else None,
        headers={"Authorization": f"token {TOKEN}"},
        raise_error=False,
        request_timeout=30,
    )
    return SimpleNamespace(code=resp.code, text=resp.body.decode() if resp.body else "")


def test_a_full_volume_refuses_changes_and_keeps_serving(gmap_hub, disk):
    async def scenario():
        async with live_hub(gmap_hub) as base:
            s = gmap_hub.data_space
            s._statvfs, s._clock = disk.statvfs, disk.clock
            admin = Browser(base)
            await admin.get("/hub/login")
            assert (await admin.post("/hub/login?next=", {"username": "admin", "password": ADMIN_PASSWORD})).code == 302
            client = Browser(base)
            assert (await api(client, "POST", "/hub/api/users/ada")).code == 201

            disk.free, disk.now = 1 * MiB, disk.now + 2
            # reads and signed-in users keep working
            assert (await admin.get("/hub/home")).code == 200
            assert (await admin.whoami())["name"] == "admin"
            assert (await api(client, "GET", "/hub/api/users/ada")).code == 200
            # changes are refused, before anything is done, with the reason
            created = await api(client, "POST", "/hub/api/users/bob")
            assert created.code == 503 and json.loads(created.text)["message"] == FULL_MESSAGE
            assert (await api(client, "GET", "/hub/api/users/bob")).code == 404
            started = await api(client, "POST", "/hub/api/users/ada/server")
            assert started.code == 503
            spawn_page = await admin.get("/hub/spawn")
            assert spawn_page.code == 503 and "volume that holds its data is full" in spawn_page.text
            newcomer = Browser(base)
            await newcomer.get("/hub/login")
            refused = await newcomer.post("/hub/login?next=", {"username": "admin", "password": ADMIN_PASSWORD})
            assert refused.code == 503 and "volume that holds its data is full" in refused.text

            disk.free, disk.now = 1024 * MiB, disk.now + 2
            assert (await api(client, "POST", "/hub/api/users/bob")).code == 201
            await newcomer.get("/hub/login")
            assert (await newcomer.post("/hub/login?next=", {"username": "admin", "password": ADMIN_PASSWORD})).code == 302

    run(scenario())


def test_a_write_that_fails_for_want_of_space_answers_503_and_holds(gmap_hub, disk, monkeypatch):
    async def scenario():
        async with live_hub(gmap_hub) as base:
            s = gmap_hub.data_space
            s._statvfs, s._clock = disk.statvfs, disk.clock
            client = Browser(base)
            assert (await api(client, "GET", "/hub/api/users")).code == 200
            real_commit = gmap_hub.db.commit
            failures = []

            def commit():
                if not failures:
                    failures.append(True)
                    raise OperationalError("INSERT INTO users", {}, sqlite3.OperationalError("database or disk is full"))
                return real_commit()

            monkeypatch.setattr(gmap_hub.db, "commit", commit)
            failed = await api(client, "POST", "/hub/api/users/carol")
            assert failed.code == 503 and json.loads(failed.text)["message"] == FULL_MESSAGE
            assert s.full is True
            assert (await api(client, "POST", "/hub/api/users/carol")).code == 503, "held until the next check"
            disk.now += DataSpace.interval + 1
            assert (await api(client, "POST", "/hub/api/users/carol")).code == 201
            assert (await api(client, "GET", "/hub/api/users/carol")).code == 200

    run(scenario())


def test_servers_that_ended_meanwhile_are_settled_when_space_is_back():
    calls = []

    class Spawner:
        def __init__(self, running, pending=None):
            self.active, self.pending, self.running = True, pending, running

        async def poll(self):
            return None if self.running else 0

    class User:
        def __init__(self, name, spawners):
            self.name, self.spawners = name, spawners

        async def stop(self, name):
            calls.append(("stop", self.name, name))

    class Proxy:
        async def delete_user(self, user, name):
            calls.append(("route", user.name, name))

    app = SimpleNamespace(
        users={1: User("ada", {"": Spawner(running=False)}), 2: User("bob", {"": Spawner(running=True)}), 3: User("cy", {"": Spawner(False, "spawn")})},
        proxy=Proxy(),
        log=logging.getLogger("test-settle"),
    )
    asyncio.run(GmapHub.settle_stopped_servers(app))
    assert calls == [("route", "ada", ""), ("stop", "ada", "")]
