"""Server sizes, the ceiling and the groups the stack config owns (gmap_hub.spawner.sizes,
gmap_hub.ceiling, gmap_hub.groups)."""

import asyncio
import logging
from types import SimpleNamespace

import pytest
from docker.types import DeviceRequest
from spawner_fakes import MINIMAL, _api_error
from tornado import web

SIZES = [
    {
        "name": "small",
        "displayName": "small: 2G memory, 1 CPU",
        "memLimit": "2G",
        "cpuLimit": 1,
        "pidsLimit": 512,
        "shmSize": None,
        "gpus": None,
        "groups": None,
        "images": None,
    },
    {
        "name": "large",
        "displayName": "large: 16G memory, 4 CPUs",
        "memLimit": "16G",
        "cpuLimit": 4,
        "pidsLimit": 4096,
        "shmSize": "1G",
        "gpus": None,
        "groups": ["processing-team"],
        "images": ["isis"],
    },
    {
        "name": "gpu",
        "displayName": "gpu: 8G memory, 1 GPU",
        "memLimit": "8G",
        "cpuLimit": 2,
        "pidsLimit": 1024,
        "shmSize": None,
        "gpus": {"driver": "", "count": 1, "deviceIds": [], "capabilities": [["gpu"]]},
        "groups": ["processing-team"],
        "images": None,
    },
]
G = 2**30


@pytest.fixture
def sized(settings):
    settings["spawner"]["sizes"] = [dict(s) for s in SIZES]
    settings["spawner"]["defaultSize"] = "small"
    settings["spawner"]["maxServers"] = 3
    settings["spawner"]["memoryBudget"] = "20G"
    settings["auth"]["groups"] = [{"name": "processing-team", "members": ["ada"]}]
    return settings


def form(spawner):
    return asyncio.run(spawner.get_options_form())


def test_a_member_is_offered_the_groups_sizes_and_a_non_member_is_not(hub, sized, secrets, make_spawner):
    app = hub(sized, secrets)
    member = form(make_spawner(app, "ada", groups=["processing-team"]))
    assert 'name="size"' in member and '<option value="large" data-images="isis">large: 16G memory, 4 CPUs</option>' in member
    assert '<option value="small" data-images="" selected>' in member and '<option value="gpu"' in member
    assert "<script>" in member  # sizes follow the chosen image
    other = form(make_spawner(app, "bob"))
    # one size open to bob: no size menu, and the image menu as before
    assert "gmap-size" not in other and "large" not in other and 'name="image"' in other


def test_the_form_gives_image_and_size(hub, sized, secrets, make_spawner):
    spawner = make_spawner(hub(sized, secrets), "ada", groups=["processing-team"])
    assert spawner.run_options_from_form({"image": ["isis"], "size": ["large"]}) == {"image": "isis", "size": "large"}
    assert spawner.run_options_from_form({"image": ["isis"]}) == {"image": "isis"}


def test_a_size_the_user_may_not_have_is_refused_never_replaced(hub, sized, secrets, make_spawner):
    spawner = make_spawner(hub(sized, secrets), "bob")
    for choice in ({"size": "large"}, {"size": "nonsense"}, {"size": "large: 16G memory, 4 CPUs"}):
        with pytest.raises(web.HTTPError) as e:
            asyncio.run(spawner._run_apply_user_options(choice))
        assert e.value.status_code == 400
        assert "is not offered to you" in e.value.log_message and "Choose one of: small: 2G memory, 1 CPU." in e.value.log_message
    assert spawner.admitted_size is None and not spawner.mem_limit  # nothing applied


def test_a_size_not_for_the_image_is_refused(hub, sized, secrets, make_spawner):
    spawner = make_spawner(hub(sized, secrets), "ada", groups=["processing-team"])
    with pytest.raises(web.HTTPError) as e:
        asyncio.run(spawner._run_apply_user_options({"image": "minimal", "size": "large"}))
    assert e.value.status_code == 400 and "is not for the image 'minimal'" in e.value.log_message


def test_the_chosen_size_sets_the_limits(hub, sized, secrets, make_spawner):
    spawner = make_spawner(hub(sized, secrets), "ada", groups=["processing-team"])
    asyncio.run(spawner._run_apply_user_options({"image": "isis", "size": "large"}))
    assert spawner.mem_limit == 16 * G and spawner.cpu_limit == 4
    host = spawner.extra_host_config
    assert host["pids_limit"] == 4096 and host["shm_size"] == G
    assert "device_requests" not in host and host["log_config"]  # the rest of the host config stays
    # the next start with another size takes that size's limits only
    asyncio.run(spawner._run_apply_user_options({"size": "gpu"}))
    host = spawner.extra_host_config
    assert spawner.mem_limit == 8 * G and host["pids_limit"] == 1024 and "shm_size" not in host
    assert host["device_requests"] == [DeviceRequest(driver="", count=1, device_ids=[], capabilities=[["gpu"]])]
    assert spawner.memory_limit_bytes() == 8 * G


def test_no_size_given_takes_the_default(hub, sized, secrets, make_spawner):
    spawner = make_spawner(hub(sized, secrets), "bob")
    asyncio.run(spawner._run_apply_user_options({}))
    assert spawner.admitted_size["name"] == "small" and spawner.mem_limit == 2 * G and spawner.extra_host_config["pids_limit"] == 512


def test_without_sizes_the_spawner_limits_stay(hub, settings, secrets, make_spawner):
    settings["spawner"]["memLimit"] = "1G"
    spawner = make_spawner(hub(settings, secrets), "bob")
    asyncio.run(spawner._run_apply_user_options({"image": "minimal"}))
    assert spawner.mem_limit == G and spawner.extra_host_config["pids_limit"] == 1024
    assert spawner.memory_limit_bytes() == G
    with pytest.raises(web.HTTPError) as e:
        asyncio.run(spawner._run_apply_user_options({"size": "large"}))
    assert "no server sizes" in e.value.log_message


def test_a_host_without_gpus_gives_a_clear_reason(hub, sized, secrets, make_spawner):
    spawner = make_spawner(hub(sized, secrets), "ada", groups=["processing-team"])
    asyncio.run(spawner._run_apply_user_options({"size": "gpu"}))

    async def docker(method, *args, **kwargs):
        assert method == "start"
        raise _api_error(500, 'could not select device driver "" with capabilities: [[gpu]]')

    spawner.docker = docker
    spawner.object_id = "c1"
    with pytest.raises(web.HTTPError) as e:
        asyncio.run(spawner.start_object())
    message = e.value.log_message % e.value.args
    assert e.value.status_code == 503 and "asks for GPUs, and this hub's Docker host has none" in message and "[[gpu]]" in message


def _users(*servers):
    """A hub's users with one server each: (name, size dict or None, active)."""
    users = {}
    for name, size, active in servers:
        spawner = SimpleNamespace(
            active=active,
            pending=None,
            user=SimpleNamespace(name=name),
            name="",
            memory_limit_bytes=lambda size=size: 0 if size is None else {"2G": 2 * G, "16G": 16 * G}[size],
            recorded_size=lambda size=size: size and {"name": size},
            image_name_of=lambda ref: "minimal",
            image=MINIMAL,
        )
        users[name] = SimpleNamespace(spawners={"": spawner})
    return users


def test_the_ceiling_refuses_past_the_server_limit_and_the_memory_budget():
    from gmap_hub.ceiling import Ceiling

    ceiling = Ceiling(max_servers=3, memory_budget="20G", concurrent_spawn_limit=8)
    small = {"displayName": "small"}
    assert ceiling.refusal(_users(("a", "16G", True), ("b", "2G", True)), small, 2 * G) is None
    full = ceiling.refusal(_users(("a", "2G", True), ("b", "2G", True), ("c", "2G", True), ("d", "16G", False)), small, 2 * G)
    assert full.startswith("The hub is full: 3 servers are running") and "spawner.maxServers" in full
    memory = ceiling.refusal(_users(("a", "16G", True), ("b", "2G", True)), {"displayName": "large"}, 16 * G)
    assert "no memory left for the size 'large'" in memory and "18G of its 20G" in memory and "Choose a smaller size" in memory
    usage = ceiling.usage(_users(("a", "16G", True), ("b", None, False)))
    assert usage["servers"] == 1 and usage["maxServers"] == 3 and usage["memoryBytes"] == 16 * G and usage["memoryBudgetBytes"] == 20 * G
    assert usage["running"] == [{"user": "a", "server": "", "size": "16G", "image": "minimal", "memoryBytes": 16 * G, "pending": None}]
    assert Ceiling().refusal(_users(*[(str(i), "16G", True) for i in range(50)]), None, 16 * G) is None


def test_the_configured_hub_has_the_ceiling_and_the_groups(hub, sized, secrets):
    from gmap_hub.groups import OWNER

    app = hub(sized, secrets)
    assert app.config.GmapHub.max_servers == 3 and app.config.GmapHub.memory_budget == "20G"
    assert app.config.JupyterHub.load_groups == {"processing-team": {"users": ["ada"], "properties": OWNER}}
    assert app.config.GmapDockerSpawner.default_size_name == "small"


def test_groups_follow_the_config_exactly():
    from gmap_hub.groups import OWNER, load_groups, prune_groups
    from jupyterhub import orm

    db = orm.new_session_factory("sqlite:///:memory:")()
    users = {n: orm.User(name=n) for n in ("ada", "bob", "cy")}
    db.add_all(users.values())
    team = orm.Group(name="team", properties=dict(OWNER), users=[users["ada"], users["bob"]])
    gone = orm.Group(name="gone", properties=dict(OWNER), users=[users["cy"]])
    theirs = orm.Group(name="admins-made", properties={}, users=[users["cy"]])
    db.add_all([team, gone, theirs])
    db.commit()
    prune_groups(db, load_groups([{"name": "team", "members": ["ada"]}]), logging.getLogger("test"))
    assert [u.name for u in orm.Group.find(db, "team").users] == ["ada"]
    assert orm.Group.find(db, "gone") is None and orm.User.find(db, "cy") is not None
    assert [u.name for u in orm.Group.find(db, "admins-made").users] == ["cy"]


def test_owned_groups_cannot_be_changed_through_the_api():
    from gmap_hub.groups import refused_change
    from jupyterhub.apihandlers.groups import GroupAPIHandler, GroupListAPIHandler, GroupPropertiesAPIHandler, GroupUsersAPIHandler

    def request(handler_class, method, name):
        handler = object.__new__(handler_class)
        handler.request = SimpleNamespace(method=method)
        handler.path_args = [name] if name else []
        return refused_change(handler, frozenset({"team"}))

    for handler_class, method in (
        (GroupUsersAPIHandler, "POST"),
        (GroupUsersAPIHandler, "DELETE"),
        (GroupAPIHandler, "DELETE"),
        (GroupPropertiesAPIHandler, "PUT"),
    ):
        assert "kept by the stack config" in request(handler_class, method, "team")
        assert request(handler_class, method, "admins-made") is None
    assert request(GroupAPIHandler, "GET", "team") is None
    assert request(GroupListAPIHandler, "POST", None) is None


def _group_mounts(settings):
    base = {"type": "volume", "readOnly": False, "perUser": False, "driverOptions": False}
    settings["spawner"]["mounts"] = [
        dict(
            base,
            name="project",
            source="gmap-dev-project",
            target="/home/jovyan/project",
            groups=["processing-team"],
            environment={"PROJECT_DATA": "/home/jovyan/project"},
        ),
        dict(base, name="curated", source="gmap-dev-curated", target="/mnt/curated", readOnly=True, writers={"admins": True, "groups": ["curators"]}),
    ]
    return settings


def test_group_storage_is_mounted_for_members_only_and_writable_for_writers(hub, sized, secrets, make_spawner):
    app = hub(_group_mounts(sized), secrets)

    def mounts(spawner):
        spawner.api_token = "t" * 32
        return {m["target"]: m["read_only"] for m in spawner.current_mounts()}, spawner.get_env().get("CHOWN_EXTRA")

    assert mounts(make_spawner(app, "bob")) == ({"/mnt/curated": True}, None)
    assert mounts(make_spawner(app, "ada", groups=["processing-team"])) == (
        {"/home/jovyan/project": False, "/mnt/curated": True},
        "/home/jovyan/project",
    )
    assert mounts(make_spawner(app, "root", admin=True)) == ({"/mnt/curated": False}, "/mnt/curated")
    assert mounts(make_spawner(app, "cy", groups=["curators"]))[0] == {"/mnt/curated": False}
    # the team mount's variables are its members' only
    assert make_spawner(app, "ada", groups=["processing-team"]).get_env()["PROJECT_DATA"] == "/home/jovyan/project"
    bob = make_spawner(app, "bob")
    bob.api_token = "t" * 32
    assert "PROJECT_DATA" not in bob.get_env()
    # a membership change is seen at the next start
    spawner = make_spawner(app, "dan")
    assert "/home/jovyan/project" not in mounts(spawner)[0]
    spawner.user.groups.append(SimpleNamespace(name="processing-team"))
    assert "/home/jovyan/project" in mounts(spawner)[0]


def test_a_size_chosen_by_its_label_is_saved_by_name_and_counted_after_a_hub_restart(hub, sized, secrets, make_spawner):
    app = hub(sized, secrets)
    spawner = make_spawner(app, "ada", groups=["processing-team"])
    options = {"size": "gpu: 8G memory, 1 GPU"}
    asyncio.run(spawner._run_apply_user_options(options))
    assert options == {"size": "gpu"}
    state = spawner.get_state()
    assert state["gmap_size"] == ["gpu", 8 * G]
    # a new hub process: the spawner comes back from the saved state and options
    restarted = make_spawner(app, "ada", groups=["processing-team"])
    restarted.load_state(state)
    restarted.user_options = {"size": "gpu"}
    assert restarted.memory_limit_bytes() == 8 * G and restarted.recorded_size()["name"] == "gpu"
    # the size was renamed meanwhile: the server still counts what it started with
    sized["spawner"]["sizes"][2]["name"] = "accelerated"
    renamed = make_spawner(hub(sized, secrets), "ada", groups=["processing-team"])
    renamed.load_state(state)
    assert renamed.memory_limit_bytes() == 8 * G
    # without saved state, a size that is gone counts as the largest
    unknown = make_spawner(hub(sized, secrets), "ada")
    unknown.user_options = {"size": "vanished"}
    assert unknown.memory_limit_bytes() == 16 * G


def test_a_start_without_a_choice_takes_the_default_for_a_saved_size_no_longer_open(hub, sized, secrets, make_spawner):
    spawner = make_spawner(hub(sized, secrets), "ada")  # no longer in the processing team
    assert spawner.saved_choice({"image": "isis", "size": "large"}) == {"image": "isis"}
    assert spawner.saved_choice({"image": "retired", "size": "small"}) == {"size": "small"}
    member = make_spawner(hub(sized, secrets), "ada", groups=["processing-team"])
    assert member.saved_choice({"image": "isis", "size": "large: 16G memory, 4 CPUs"}) == {"image": "isis", "size": "large"}
    assert member.saved_choice({"image": "minimal", "size": "large"}) == {"image": "minimal"}


def test_an_admitted_spawn_holds_its_place_until_it_is_pending():
    from gmap_hub.ceiling import Ceiling

    ceiling = Ceiling(max_servers=2)
    users = _users(("a", "2G", True))

    class Waiting:  # a spawner admitted, not yet pending
        active = False

        def memory_limit_bytes(self):
            return 0

    waiting = Waiting()
    ceiling.reserved.add(waiting)
    assert ceiling.refusal(users, None, 0).startswith("The hub is full: 2 servers")
    ceiling.reserved.discard(waiting)
    assert ceiling.refusal(users, None, 0) is None
