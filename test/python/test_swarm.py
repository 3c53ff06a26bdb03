"""GmapSwarmSpawner (settings' spawner.swarm): each user server a Swarm service on an overlay network of
its own, placed by constraints, watched through its task and its service log."""

import asyncio
import ipaddress
import logging

import pytest
from gmap_hub.settings import SettingsError
from test_spawner import ESCAPED, ISIS, LABELS, MINIMAL, NETWORK_CALLS, NETWORK_LABELS, FakeNetworks, _not_found, engine_spawner
from tornado import web

NETWORK = f"gmap-dev-u-{ESCAPED}"
SERVICE = f"gmap-dev-user-{ESCAPED}"
SWARM = {"constraints": ["node.role==worker"], "imageConstraints": {"isis": ["node.labels.memory==big"]}}
NFS = {"type": "nfs", "o": "addr=10.0.0.5,ro,nfsvers=4", "device": ":/export/isis"}


@pytest.fixture
def per_user_bind(settings):
    """The per-user host directory of the shared test settings (conftest), which swarm mode refuses."""
    return dict(next(m for m in settings["spawner"]["mounts"] if m["type"] == "bind" and m["perUser"]))


@pytest.fixture
def swarm_settings(settings, secrets, per_user_bind):
    """Swarm mode: homes on a volume plugin without options, the shared ISIS data on NFS created by
    every node, no per-user host directory."""
    settings["spawner"]["swarm"] = {k: (list(v) if isinstance(v, list) else dict(v)) for k, v in SWARM.items()}
    mounts = settings["spawner"]["mounts"]
    mounts.remove(per_user_bind)
    user, isis, _nfs = mounts
    user.update(driverOptions=True, driver="gmap-sharedfs")
    isis.update(driverOptions=True)
    secrets["mountDriverOptions"]["user"] = {}
    secrets["mountDriverOptions"]["isis"] = dict(NFS)
    return settings, secrets


# -- configuration ------------------------------------------------------------------------------
def test_swarm_settings_pick_the_swarm_spawner(hub, swarm_settings, make_spawner, caplog):
    settings, secrets = swarm_settings
    with caplog.at_level(logging.WARNING):
        app = hub(settings, secrets)
        spawner = make_spawner(app)
    assert app.spawner_class.__name__ == "GmapSwarmSpawner"
    assert spawner.constraints == ["node.role==worker"]
    assert spawner.image_constraints == {"isis": ["node.labels.memory==big"]}
    # everything of the host mode that applies
    assert spawner.network_name == NETWORK and spawner.object_name == SERVICE
    assert (spawner.hub_container, spawner.hub_alias, spawner.proxy_container) == ("gmap-dev-hub", "hub", "gmap-dev-proxy")
    assert spawner.extra_create_kwargs == {"user": "root", "labels": LABELS}
    assert spawner.remove is True and spawner.pull_policy == "skip"  # each node pulls for its task
    # the shared pool of Docker threads, and no share password in the log
    from gmap_hub.spawner import GmapDockerSpawner, HideShareCredentials

    assert spawner.executor is GmapDockerSpawner._gmap_executor and spawner.executor._max_workers == 8
    assert any(isinstance(f, HideShareCredentials) for f in spawner.log.filters)
    # DockerSpawner.remove is no option of SwarmSpawner: not set, so not warned about
    assert "remove" not in app.config.DockerSpawner
    assert not [r for r in caplog.records if "not recognized" in r.getMessage()]


def test_without_swarm_settings_the_host_spawner_stays(hub, settings, secrets):
    app = hub(settings, secrets)
    assert app.spawner_class.__name__ == "GmapDockerSpawner"
    assert app.config.DockerSpawner.remove is True
    assert "GmapSwarmSpawner" not in app.config


def test_image_constraints_name_images_of_the_catalog(hub, swarm_settings):
    settings, secrets = swarm_settings
    settings["spawner"]["swarm"]["imageConstraints"]["gispy"] = ["node.labels.gpu==yes"]
    with pytest.raises(SettingsError, match=r"key spawner\.swarm\.imageConstraints\.gispy: 'gispy' is not the name of an image \(isis, minimal\)"):
        hub(settings, secrets)


def mounts_by_target(spawner):
    return {m["Target"]: m for m in spawner.mount_binds}


def test_volumes_get_their_driver_and_options(hub, swarm_settings, make_spawner):
    spawner = make_spawner(hub(*swarm_settings))
    mounts = mounts_by_target(spawner)
    assert set(mounts) == {"/home/jovyan/work", "/mnt/isis/data", "/mnt/nfs"}
    work = mounts["/home/jovyan/work"]
    assert work["Source"] == SERVICE
    # a volume plugin that needs no options
    assert work["VolumeOptions"] == {"Labels": LABELS, "DriverConfig": {"Name": "gmap-sharedfs"}}
    # a shared volume each node creates from the options on first use, without the users' labels
    isis = mounts["/mnt/isis/data"]
    assert (isis["Source"], isis["ReadOnly"]) == ("gmap-dev-isis", True)
    assert isis["VolumeOptions"] == {"DriverConfig": {"Name": "local", "Options": NFS}}
    assert mounts["/mnt/nfs"]["VolumeOptions"]["DriverConfig"]["Options"]["device"] == f":/export/{ESCAPED}"


def test_a_driver_without_driver_options_changes_nothing(hub, settings, secrets, make_spawner):
    # a volume the stack declares with its driver (components/storage.ts): the spawner only names it
    settings["spawner"]["mounts"][1]["driver"] = "gmap-sharedfs"
    isis = mounts_by_target(make_spawner(hub(settings, secrets)))["/mnt/isis/data"]
    assert "VolumeOptions" not in isis


def test_a_volume_plugin_may_have_empty_options_in_host_mode_too(hub, settings, secrets, make_spawner):
    settings["spawner"]["mounts"][2]["driver"] = "gmap-sharedfs"
    secrets["mountDriverOptions"]["home-nfs"] = {}
    nfs = mounts_by_target(make_spawner(hub(settings, secrets)))["/mnt/nfs"]
    assert nfs["VolumeOptions"]["DriverConfig"] == {"Name": "gmap-sharedfs"}


@pytest.mark.parametrize("driver", [None, "local"])
def test_the_local_driver_needs_options(hub, swarm_settings, driver):
    settings, secrets = swarm_settings
    if driver:
        settings["spawner"]["mounts"][1]["driver"] = driver
    secrets["mountDriverOptions"]["isis"] = {}
    with pytest.raises(SettingsError, match=r"secrets\.json: key mountDriverOptions\.isis: must not be empty"):
        hub(settings, secrets)


def test_shared_volumes_get_driver_options_in_swarm_mode_only(hub, settings, secrets):
    settings["spawner"]["mounts"][1]["driverOptions"] = True
    secrets["mountDriverOptions"]["isis"] = dict(NFS)
    with pytest.raises(SettingsError, match=r"key spawner\.mounts\[1\]\.driverOptions: only per-user volumes are created with driver options"):
        hub(settings, secrets)


def test_per_user_host_directories_are_refused_in_swarm_mode(hub, swarm_settings, per_user_bind):
    settings, secrets = swarm_settings
    settings["spawner"]["mounts"].append(per_user_bind)
    with pytest.raises(SettingsError, match=r"key spawner\.mounts\[3\]\.perUser: per-user host directories are not available in swarm mode"):
        hub(settings, secrets)


def test_the_spawner_refuses_a_per_user_bind_that_still_arrives(hub, swarm_settings, make_spawner):
    spawner = make_spawner(hub(*swarm_settings))
    spawner.mount_specs = [
        *spawner.mount_specs,
        {"name": "scratch", "type": "bind", "source": "/srv/{username}", "target": "/mnt/s", "read_only": False, "per_user": True, "driver_options": False},
    ]
    with pytest.raises(ValueError, match="'scratch': per-user host directories are not available with Docker Swarm"):
        assert spawner.mounts
    # and no helper container on the manager
    with pytest.raises(ValueError, match="per-user host directories"):
        asyncio.run(spawner.create_host_dirs())


# -- a fake Swarm -------------------------------------------------------------------------------
class SwarmNetworks(FakeNetworks):
    """FakeNetworks whose overlay networks the manager allocates, or not (``unallocated`` subnets:
    Swarm accepts an overlapping subnet and leaves the network without address pool)."""

    def __init__(self, networks=None, unallocated=()):
        super().__init__(networks)
        self.unallocated = set(unallocated)

    async def __call__(self, method, *args, **kwargs):
        result = await super().__call__(method, *args, **kwargs)
        if method == "inspect_network":
            subnet = self.by_id(args[0])[1].get("Subnet")
            result["IPAM"] = {"Config": [] if subnet in self.unallocated else [{"Subnet": subnet}]}
        return result


def task(state, desired="running", err=None, address="10.251.7.18/28", message=None):
    status = {"State": state, "Message": message or state}
    if err:
        status["Err"] = err
    attachments = [
        {"Network": {"ID": "ingress", "Spec": {"Name": "ingress"}}, "Addresses": ["10.0.0.9/24"]},
        {"Network": {"ID": "net-0", "Spec": {"Name": NETWORK}}, "Addresses": [address]},
    ]
    return {"ID": "task-1", "ServiceID": "svc-1", "DesiredState": desired, "Status": status, "NetworksAttachments": attachments}


class Swarm:
    """The Docker calls of GmapSwarmSpawner: the service, its task (``tasks``: the task at each look,
    the last one repeats), its log (``logs``: the log at each read, likewise), and SwarmNetworks.
    A removed service's task stays ``lingers`` looks."""

    def __init__(self, tasks, logs=("",), networks=None, lingers=0, unallocated=()):
        self.tasks, self.logs, self.lingers = list(tasks), list(logs), lingers
        self.net = SwarmNetworks(networks, unallocated)
        self.service, self.calls, self.created = None, [], []

    def current(self):
        return self.tasks.pop(0) if len(self.tasks) > 1 else self.tasks[0]

    async def __call__(self, method, *args, **kwargs):
        self.calls.append((method, args, kwargs))
        if method in NETWORK_CALLS:
            return await self.net(method, *args, **kwargs)
        if method == "inspect_image":
            return {"Config": {"Cmd": ["start-notebook.py"]}}
        if method == "create_service":
            assert kwargs["task_template"]["Networks"][0]["Target"] in self.net.networks, "the network comes first"
            self.created.append(kwargs)
            self.service = "svc-1"
            return {"ID": "svc-1"}
        if method == "inspect_service":
            if self.service is None:
                raise _not_found("service")
            return {"ID": self.service, "Spec": {"Name": SERVICE}}
        if method == "tasks":
            filters = kwargs["filters"]
            if "name" in filters:  # after the removal
                assert filters["name"] == f"{SERVICE}."
                self.lingers -= 1
                return [task("running", desired="remove"), {"ID": "other", "ServiceID": "svc-other"}] if self.lingers >= 0 else []
            assert filters["service"] == SERVICE
            t = self.current() if self.service else None
            if t is None or (filters.get("desired-state") == "running" and t["DesiredState"] != "running"):
                return []
            return [t]
        if method == "service_logs":
            assert kwargs == {"stdout": True, "stderr": True, "tail": 1000, "timestamps": True, "is_tty": False}
            return (self.logs.pop(0) if len(self.logs) > 1 else self.logs[0]).encode()
        if method == "remove_service":
            if self.service is None:
                raise _not_found("service")
            self.service = None
            return None
        raise AssertionError(f"unexpected docker call {method}")


@pytest.fixture
def swarm_spawner(hub, swarm_settings, make_spawner, monkeypatch):
    """swarm_spawner(engine, answers=...) -> a GmapSwarmSpawner whose Docker calls go to ``engine``."""

    def make(engine, answers=lambda url: True, hook=False, **settings_changes):
        settings, secrets = swarm_settings
        settings["spawner"].update(settings_changes)
        spawner = engine_spawner(hub, settings, secrets, make_spawner, monkeypatch, engine, answers=answers, hook=hook)
        spawner.network_removal_poll_interval = 0.001
        spawner.network_allocation_timeout = 0.05
        return spawner

    return make


def start(spawner):
    return asyncio.run(asyncio.wait_for(spawner.start(), timeout=5))


# -- the service --------------------------------------------------------------------------------
def test_the_service_request(swarm_spawner):
    engine = Swarm([task("pending"), task("running")])
    spawner = swarm_spawner(engine, hook=True, memLimit="2G", cpuLimit=1.5)
    assert start(spawner) == ("10.251.7.18", 8888)
    (request,) = engine.created
    assert request["name"] == SERVICE
    assert request["labels"] == LABELS
    assert request["endpoint_spec"] == {"Mode": "dnsrr"}, "no virtual IP, no published port"
    template = request["task_template"]
    container = template["ContainerSpec"]
    assert container["Image"] == ISIS
    assert container["User"] == "root" and container["Labels"] == LABELS
    # the image's entrypoint stays; its command is wrapped for the start hook
    assert container["Command"] is None
    assert container["Args"][:2] == ["sh", "-c"] and container["Args"][3:] == ["gmap-start", "start-notebook.py"]
    env = dict(line.split("=", 1) for line in container["Env"])
    assert env["NB_UID"] == "1000" and env["CHOWN_EXTRA"] == "/home/jovyan/work,/mnt/nfs" and "GMAP_START_HOOK" in env
    mounts = {m["Target"]: m for m in container["Mounts"]}
    assert mounts["/home/jovyan/work"]["VolumeOptions"]["DriverConfig"] == {"Name": "gmap-sharedfs"}
    assert mounts["/mnt/isis/data"]["VolumeOptions"]["DriverConfig"] == {"Name": "local", "Options": NFS}
    assert template["Networks"] == [{"Target": NETWORK}]
    # the default image's own constraints come after every server's
    assert template["Placement"] == {"Constraints": ["node.role==worker", "node.labels.memory==big"]}
    limits = {"NanoCPUs": 1_500_000_000, "MemoryBytes": 2 * 1024**3}
    assert template["Resources"] == {"Limits": limits, "Reservations": limits}
    assert template["RestartPolicy"]["Condition"] == "none"


def test_the_user_network_is_an_attachable_overlay_network_with_a_subnet_of_the_pool(swarm_spawner):
    engine = Swarm([task("running")])
    start(swarm_spawner(engine))
    (create,) = [c for c in engine.calls if c[0] == "create_network"]
    assert create[1] == (NETWORK,)
    assert (create[2]["driver"], create[2]["attachable"], create[2]["labels"]) == ("overlay", True, NETWORK_LABELS)
    subnet = ipaddress.ip_network(create[2]["ipam"]["Config"][0]["Subnet"])
    assert subnet.prefixlen == 28 and subnet.subnet_of(ipaddress.ip_network("10.251.0.0/16"))
    # the hub (under its alias) and the proxy joined it before start returned
    assert engine.net.networks[NETWORK]["members"] == {"gmap-dev-hub": ["hub"], "gmap-dev-proxy": None}
    methods = [c[0] for c in engine.calls]
    assert methods.index("create_network") < methods.index("create_service")


def test_an_overlapping_subnet_left_unallocated_is_dropped_for_the_next(swarm_spawner):
    probe = Swarm([task("running")])
    start(swarm_spawner(probe))
    first = [c[2]["ipam"]["Config"][0]["Subnet"] for c in probe.calls if c[0] == "create_network"][0]
    engine = Swarm([task("running")], unallocated={first})
    start(swarm_spawner(engine))
    created = [c[2]["ipam"]["Config"][0]["Subnet"] for c in engine.calls if c[0] == "create_network"]
    assert created[0] == first and len(created) == 2 and created[1] != first
    assert [c[1][0] for c in engine.calls if c[0] == "remove_network"] == ["net-0"]
    assert list(engine.net.networks) == [NETWORK]


def test_constraints_of_another_image_and_reservations_of_guarantees(swarm_spawner):
    engine = Swarm([task("running")])
    spawner = swarm_spawner(engine, memLimit="4G")
    spawner.user_options = {"image": "minimal"}
    spawner.mem_guarantee = "1G"
    start(spawner)
    template = engine.created[0]["task_template"]
    assert template["ContainerSpec"]["Image"] == MINIMAL
    assert template["Placement"] == {"Constraints": ["node.role==worker"]}
    assert template["Resources"] == {"Limits": {"MemoryBytes": 4 * 1024**3}, "Reservations": {"MemoryBytes": 1024**3}}


def test_the_address_is_the_tasks_on_the_user_network(swarm_spawner):
    engine = Swarm([task("running", address="10.251.33.2/28")])
    spawner = swarm_spawner(engine)
    assert start(spawner) == ("10.251.33.2", 8888)
    assert spawner.asked[-1] == f"http://10.251.33.2:8888/user/{spawner.user.name}/api"


def test_a_task_that_fails_fails_the_spawn_with_swarms_reason_and_its_output(swarm_spawner):
    # stderr comes before stdout in a service log: the timestamps order the lines
    log = (
        "2025-01-01T10:00:00.2Z Traceback (most recent call last):\n"
        "2025-01-01T10:00:00.100000002Z ImportError: no module named jupyterhub\n"
        "2025-01-01T10:00:00.1Z Entered start.sh\n"
    )
    engine = Swarm([task("preparing"), task("starting"), task("failed", desired="shutdown", err="task: non-zero exit (1)")], logs=[log])
    spawner = swarm_spawner(engine)
    with pytest.raises(web.HTTPError) as e:
        start(spawner)
    assert e.value.jupyterhub_message == (
        "The server's task failed: task: non-zero exit (1). Its last output:\n"
        "Entered start.sh\nImportError: no module named jupyterhub\nTraceback (most recent call last):"
    )
    assert not spawner.asked, "never asked a server that did not run"


def test_a_task_no_node_takes_fails_the_spawn_with_swarms_reason(swarm_spawner):
    why = "no suitable node (scheduling constraints not satisfied on 3 nodes)"
    engine = Swarm([task("pending"), task("pending", err=why)])
    spawner = swarm_spawner(engine)
    spawner.placement_timeout = 0.05
    with pytest.raises(web.HTTPError) as e:
        start(spawner)
    assert e.value.jupyterhub_message == f"No Swarm node could run the server within 0.05 seconds: {why}."
    assert not [c for c in engine.calls if c[0] == "service_logs"]


def test_a_slow_image_pull_is_no_placement_problem(swarm_spawner):
    engine = Swarm([task("pending"), *[task("preparing")] * 30, task("running")])
    spawner = swarm_spawner(engine)
    spawner.placement_timeout = 0.001
    spawner.start_check_interval = 0.001
    assert start(spawner) == ("10.251.7.18", 8888)


def test_a_rejected_task_fails_the_spawn_and_hides_share_credentials(swarm_spawner):
    err = "starting container failed: error while mounting volume: failed to mount local volume: data: addr=smb,password=s3cr3t-pw"
    engine = Swarm([task("rejected", desired="shutdown", err=err)])
    with pytest.raises(web.HTTPError) as e:
        start(swarm_spawner(engine))
    assert e.value.jupyterhub_message.startswith("The server's task rejected: starting container failed:")
    assert "password=[hidden]" in e.value.jupyterhub_message and "s3cr3t" not in e.value.jupyterhub_message


def test_a_failing_start_hook_is_read_from_the_service_log(swarm_spawner):
    started = "2025-01-01T10:00:01Z gmap-start: running the start hook as uid 1000\n"
    failed = started + "2025-01-01T10:00:02Z broken\n2025-01-01T10:00:03Z gmap-start: the start hook failed with exit status 3; not starting the server\n"
    engine = Swarm([task("running")], logs=[started, failed])
    spawner = swarm_spawner(engine, answers=lambda url: False, hook=True)
    with pytest.raises(web.HTTPError) as e:
        start(spawner)
    assert e.value.jupyterhub_message == (
        "The start hook failed. Its last output:\nbroken\ngmap-start: the start hook failed with exit status 3; not starting the server"
    )


def test_a_server_that_ends_before_it_answers_fails_the_spawn(swarm_spawner):
    engine = Swarm(
        [task("running"), task("running"), task("running"), task("complete", desired="shutdown", message="finished")], logs=["2025-01-01T10:00:00Z bye\n"]
    )
    spawner = swarm_spawner(engine, answers=lambda url: False)
    with pytest.raises(web.HTTPError) as e:
        start(spawner)
    assert e.value.jupyterhub_message == "The server's task complete: finished before it answered. Its last output:\nbye"


def test_poll_follows_the_task_and_reconnects_hub_and_proxy(swarm_spawner):
    networks = {NETWORK: {"Id": "net-ada", "Labels": dict(NETWORK_LABELS), "members": {}}}
    engine = Swarm([task("running")], networks=networks)
    engine.service = "svc-1"
    spawner = swarm_spawner(engine)
    assert asyncio.run(spawner.poll()) is None
    assert engine.net.networks[NETWORK]["members"] == {"gmap-dev-hub": ["hub"], "gmap-dev-proxy": None}
    engine.tasks = [task("failed", desired="shutdown", err="task: non-zero exit (137)")]
    assert "non-zero exit (137)" in asyncio.run(spawner.poll())
    engine.service = None
    assert asyncio.run(spawner.poll()) == 0


def test_a_server_swarm_moved_to_another_node_counts_as_stopped(swarm_spawner):
    from jupyterhub.objects import Server

    networks = {NETWORK: {"Id": "net-ada", "Labels": dict(NETWORK_LABELS), "members": {}}}
    engine = Swarm([task("running")], networks=networks)
    engine.service = "svc-1"
    spawner = swarm_spawner(engine)
    spawner.server = Server(ip="10.251.7.18", port=8888)
    assert asyncio.run(spawner.poll()) is None
    # the node was drained: Swarm started a replacement task elsewhere, with another address
    engine.tasks = [task("running", address="10.251.7.19/28")]
    assert asyncio.run(spawner.poll()) == "moved by Swarm from 10.251.7.18 to 10.251.7.19"


def test_stop_removes_the_service_then_the_network_once_its_task_is_gone(swarm_spawner):
    networks = {NETWORK: {"Id": "net-ada", "Labels": dict(NETWORK_LABELS), "members": {"gmap-dev-hub": ["hub"], "gmap-dev-proxy": None}}}
    engine = Swarm([task("running")], networks=networks, lingers=3)
    engine.service = "svc-1"
    spawner = swarm_spawner(engine)
    spawner.object_id = "svc-1"
    asyncio.run(spawner.stop())
    methods = [c[0] for c in engine.calls]
    assert methods[0] == "remove_service" and engine.calls[0][1] == ("svc-1",)
    assert methods.count("tasks") == 4, "waited for the task to go"
    assert methods.index("remove_network") > max(i for i, m in enumerate(methods) if m == "tasks")
    assert engine.net.networks == {}
    assert spawner.object_id == ""


def test_stop_leaves_the_network_while_the_task_stays(swarm_spawner):
    networks = {NETWORK: {"Id": "net-ada", "Labels": dict(NETWORK_LABELS), "members": {"gmap-dev-hub": ["hub"]}}}
    engine = Swarm([task("running")], networks=networks, lingers=10**6)
    engine.service = "svc-1"
    spawner = swarm_spawner(engine)
    spawner.object_id = "svc-1"
    spawner.network_removal_timeout = 0
    asyncio.run(spawner.stop())
    assert NETWORK in engine.net.networks
    assert "remove_network" not in [c[0] for c in engine.calls]


def test_stop_of_a_service_already_gone(swarm_spawner):
    engine = Swarm([task("running")], networks={})
    spawner = swarm_spawner(engine)
    spawner.object_id = "svc-1"
    asyncio.run(spawner.stop())  # no error
    assert [c[0] for c in engine.calls] == ["remove_service", "tasks", "inspect_network"]


def test_service_logs_are_read_in_the_docker_thread(swarm_spawner, monkeypatch):
    spawner = swarm_spawner(Swarm([task("running")]))

    class Client:
        def service_logs(self, service, **kwargs):
            yield b"2025-01-01T10:00:00Z a\n"
            yield b"2025-01-01T10:00:01Z b\n"

    monkeypatch.setattr(type(spawner), "_client", Client())
    assert spawner._docker("service_logs", "svc-1") == b"2025-01-01T10:00:00Z a\n2025-01-01T10:00:01Z b\n"


def test_log_lines_in_time_order():
    from gmap_hub.spawner import _in_time_order

    log = "2025-01-01T10:00:01.5Z second\ncontinued\n2025-01-01T10:00:01.05Z first\n2025-01-01T10:00:02Z third\n"
    assert _in_time_order(log) == ["first", "second", "continued", "third"]
