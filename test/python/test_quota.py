"""Quotas of per-user directories (the homes, per-user storage): each a Btrfs subvolume with its
limit, made by a helper container of the hub's image before the server starts; the check and the
limits at the hub's start; the usage for the admins' and the users' pages; /tmp and the writable layer."""

import asyncio

import pytest
from spawner_fakes import ESCAPED
from tornado import web

GiB = 2**30


class Helper:
    """The Docker calls of the quota helper: records the containers made; each ends with ``status``
    and prints ``out`` (stdout) and ``err`` (stderr)."""

    def __init__(self, status=0, out="", err=""):
        self.status, self.out, self.err = status, out, err
        self.created, self.removed = [], []

    async def __call__(self, method, *args, **kwargs):
        if method == "inspect_container":
            assert args == ("gmap-dev-hub",)
            return {"Image": "sha256:hubimage"}
        if method == "create_container":
            self.created.append(kwargs)
            return {"Id": f"helper-{len(self.created)}"}
        if method == "start":
            return None
        if method == "wait":
            return {"StatusCode": self.status}
        if method == "logs":
            return (self.out if kwargs["stdout"] else self.err).encode()
        if method == "remove_container":
            self.removed.append(args[0])
            return None
        raise AssertionError(method)


QUOTA = {"filesystem": "btrfs", "bytes": 10 * GiB, "groups": {}}


def with_quota(settings, groups=None, scratch=False):
    """The homes in /srv/homes/<user> with a quota of 10G (other limits per group); with ``scratch``,
    the per-user bind /srv/scratch/<user> too, with 1G."""
    mounts = {m["name"]: m for m in settings["spawner"]["mounts"]}
    mounts["user"].update(type="bind", source="/srv/homes/{username}", quota=dict(QUOTA, groups=groups or {}))
    if scratch:
        mounts["scratch"]["quota"] = dict(QUOTA, bytes=GiB)
    return settings


def test_the_home_is_made_a_limited_subvolume_before_the_server(hub, settings, secrets, make_spawner):
    spawner = make_spawner(hub(with_quota(settings), secrets))
    engine = Helper()
    spawner.docker = engine
    asyncio.run(spawner.limit_directories())
    (helper,) = engine.created
    # the hub's own image (btrfs-progs), as root, no network, the one capability Btrfs asks for and file ownership
    assert helper["image"] == "sha256:hubimage" and helper["user"] == "0:0" and helper["network_disabled"]
    assert helper["command"] == ["/gmap-quota", "limit", "1000:100", f"{ESCAPED}={10 * GiB}"]
    host = helper["host_config"]
    assert host["Mounts"] == [{"Type": "bind", "Source": "/srv/homes", "Target": "/gmap-quota", "ReadOnly": False}]
    assert host["CapDrop"] == ["ALL"] and "SYS_ADMIN" in host["CapAdd"] and "NET_ADMIN" not in host["CapAdd"]
    assert helper["labels"] == spawner.extra_create_kwargs["labels"]
    assert engine.removed == ["helper-1"]


@pytest.mark.parametrize(
    ("groups", "limit"),
    [((), 10 * GiB), (("class",), 2 * GiB), (("class", "mission"), 200 * GiB), (("other",), 10 * GiB)],
)
def test_a_member_gets_the_largest_limit_of_their_groups(hub, settings, secrets, make_spawner, groups, limit):
    app = hub(with_quota(settings, {"class": 2 * GiB, "mission": 200 * GiB}), secrets)
    (home,) = make_spawner(app, groups=groups).quota_dirs()
    assert home.limit == limit


def test_a_home_that_cannot_be_limited_fails_the_spawn_saying_why(hub, settings, secrets, make_spawner):
    spawner = make_spawner(hub(with_quota(settings), secrets))
    spawner.docker = Helper(status=3, err="x is a plain directory, not a Btrfs subvolume\n")
    with pytest.raises(web.HTTPError) as e:
        asyncio.run(spawner.limit_directories())
    assert e.value.status_code == 500
    assert e.value.log_message % e.value.args == "Could not set the quota of your directories in /srv/homes: x is a plain directory, not a Btrfs subvolume"


def test_without_a_quota_no_helper_runs(hub, settings, secrets, make_spawner):
    spawner = make_spawner(hub(settings, secrets))
    spawner.docker = Helper(status=99)
    asyncio.run(spawner.limit_directories())
    assert spawner.docker.created == []


def test_the_hub_does_not_start_where_the_quota_cannot_hold(hub, settings, secrets, monkeypatch, capsys):
    from gmap_hub.spawner import quota

    app = hub(with_quota(settings), secrets)
    app.init_db()
    engine = Helper(status=3, err="it is on ext2/ext3, not Btrfs\n")
    monkeypatch.setattr(quota, "engine_call", lambda: engine)
    with pytest.raises(SystemExit):
        asyncio.run(quota.apply_quotas(app))
    assert [c["command"][1] for c in engine.created] == ["check"]
    assert "The quota of the mounts user cannot be enforced at /srv/homes: it is on ext2/ext3, not Btrfs" in capsys.readouterr().err


def test_usage_lists_each_made_directory_by_mount_and_user(hub, settings, secrets, monkeypatch):
    from gmap_hub.spawner import quota
    from jupyterhub import orm

    app = hub(with_quota(settings, scratch=True), secrets, initialize=True)
    for name in ("ada", "bob"):
        app.db.add(orm.User(name=name))
    app.db.commit()
    engine = Helper(out=f"ada {3 * GiB} {10 * GiB}\n")
    monkeypatch.setattr(quota, "engine_call", lambda: engine)
    assert asyncio.run(quota.quota_usage(app)) == {
        "user": {"ada": {"used": 3 * GiB, "limit": 10 * GiB}},
        "scratch": {"ada": {"used": 3 * GiB, "limit": 10 * GiB}},
    }
    # one helper per parent, for every user of the hub's database (the admin of the test settings too)
    assert [c["host_config"]["Mounts"][0]["Source"] for c in engine.created] == ["/srv/homes", "/srv/scratch"]
    assert all(c["command"][:2] == ["/gmap-quota", "usage"] and {"ada", "bob"} < set(c["command"][2:]) for c in engine.created)


def test_per_user_storage_is_limited_beside_the_home(hub, settings, secrets, make_spawner):
    spawner = make_spawner(hub(with_quota(settings, scratch=True), secrets))
    engine = Helper()
    spawner.docker = engine
    asyncio.run(spawner.limit_directories())
    assert [(c["host_config"]["Mounts"][0]["Source"], c["command"][3:]) for c in engine.created] == [
        ("/srv/homes", [f"{ESCAPED}={10 * GiB}"]),
        ("/srv/scratch", [f"{ESCAPED}={GiB}"]),
    ]


def test_sizes_read_for_people():
    from gmap_hub.spawner.quota import human_bytes

    values = (16384, 12 * 2**20, 64 * 2**20, 1000 * 2**20, 2.5 * GiB, 3 * 2**40)
    assert [human_bytes(v) for v in values] == ["0.016M", "12M", "64M", "1000M", "2.5G", "3T"]


def test_the_home_page_answers_from_the_last_measure_and_measures_at_most_once_a_minute(monkeypatch):
    from types import SimpleNamespace

    from gmap_hub.spawner import quota

    measures = []

    async def measure(app):
        measures.append(app)
        return {
            "scratch": {"ada": {"used": GiB // 2, "limit": GiB}},
            "user": {"ada": {"used": 60 * 2**20, "limit": 64 * 2**20}, "bob": {"used": 1, "limit": None}},
        }

    monkeypatch.setattr(quota, "quota_usage", measure)
    ada, bob = SimpleNamespace(name="ada"), SimpleNamespace(name="bob")

    async def scenario():
        usage = quota.QuotaUsage(SimpleNamespace(log=None), {"user": "/home/jovyan", "scratch": "/scratch"})
        assert usage.of(ada) == []  # not measured yet: a measure starts
        await asyncio.sleep(0)
        await usage._running
        await asyncio.sleep(0)
        # the home first
        assert usage.of(ada) == [
            {"home": True, "target": "/home/jovyan", "used": "60M", "limit": "64M", "percent": 94},
            {"home": False, "target": "/scratch", "used": "512M", "limit": "1G", "percent": 50},
        ]
        assert usage.of(bob) == [] and usage.of(None) == []  # no limit; no user
        assert len(measures) == 1
        usage.measured -= usage.max_age + 1
        usage.of(ada)
        for _ in range(3):
            await asyncio.sleep(0)
        assert len(measures) == 2

    asyncio.run(scenario())


def test_tmp_and_the_writable_layer_are_bounded_as_configured(hub, settings, secrets, make_spawner):
    settings["spawner"].update(tmpBytes=2 * GiB, writableLayerBytes=10 * GiB)
    host = make_spawner(hub(settings, secrets)).extra_host_config
    assert host["tmpfs"] == {"/tmp": f"size={2 * GiB},mode=1777,exec"}
    assert host["storage_opt"] == {"size": str(10 * GiB)}


def test_unbounded_by_default(hub, settings, secrets, make_spawner):
    host = make_spawner(hub(settings, secrets)).extra_host_config
    assert "tmpfs" not in host and "storage_opt" not in host


class Probe(Helper):
    """The engine of the writable layer check: refuses storage-opt, or takes it."""

    def __init__(self, refuses):
        super().__init__()
        self.refuses = refuses

    async def __call__(self, method, *args, **kwargs):
        if method == "create_container" and self.refuses:
            from spawner_fakes import _api_error

            raise _api_error(400, "--storage-opt is supported only for overlay over xfs with 'pquota' mount option")
        return await super().__call__(method, *args, **kwargs)


@pytest.mark.parametrize("refuses", [True, False])
def test_the_hub_does_not_start_on_an_engine_that_cannot_bound_the_layer(hub, settings, secrets, monkeypatch, capsys, refuses):
    from gmap_hub.spawner import layer

    settings["spawner"]["writableLayerBytes"] = 10 * GiB
    app = hub(settings, secrets)
    engine = Probe(refuses)
    monkeypatch.setattr(layer, "engine_call", lambda: engine)
    if refuses:
        with pytest.raises(SystemExit):
            asyncio.run(layer.check_writable_layer(app))
        assert (
            "spawner.writableLayerSize cannot be enforced by this Docker engine: --storage-opt is supported only for overlay over xfs"
            in capsys.readouterr().err
        )
    else:
        asyncio.run(layer.check_writable_layer(app))
        (probe,) = engine.created
        assert probe["host_config"]["StorageOpt"] == {"size": str(10 * GiB)} and probe["command"] == ["true"]
        assert engine.removed == ["helper-1"]


def test_a_missing_parent_directory_is_said_as_such(hub, settings, secrets, make_spawner):
    class NoParent(Helper):
        async def __call__(self, method, *args, **kwargs):
            if method == "create_container":
                from spawner_fakes import _api_error

                raise _api_error(400, 'invalid mount config for type "bind": bind source path does not exist: /srv/homes')
            return await super().__call__(method, *args, **kwargs)

    spawner = make_spawner(hub(with_quota(settings), secrets))
    spawner.docker = NoParent()
    with pytest.raises(web.HTTPError) as e:
        asyncio.run(spawner.limit_directories())
    assert "bind source path does not exist: /srv/homes" in e.value.log_message % e.value.args
