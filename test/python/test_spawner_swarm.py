"""GmapSwarmSpawner: each user server a Swarm service on an overlay network of its own, placed by
constraints, watched through its task and its service log (against a fake Swarm)."""

import asyncio
import ipaddress
import os
import shutil
import subprocess
import sys

import pytest
from gmap_hub.spawner.swarm import NO_NEW_PRIVILEGES_WRAPPER
from spawner_fakes import GUARD, ISIS, LABELS, MINIMAL, NETWORK, NETWORK_LABELS, NFS, NODE, SERVICE, Swarm, engine_spawner, task, the_per_user_bind, use_swarm
from tornado import web


@pytest.fixture
def swarm_settings(settings, secrets):
    return use_swarm(settings, secrets, the_per_user_bind(settings))


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
    assert container["CapabilityDrop"] == ["ALL"] and "SETUID" in container["CapabilityAdd"]
    # the image's entrypoint stays; its command starts with no-new-privileges, then the start hook
    assert container["Command"] is None
    args = container["Args"]
    assert args[:4] == ["sh", "-c", NO_NEW_PRIVILEGES_WRAPPER, "gmap-no-new-privileges"]
    assert args[4:6] == ["sh", "-c"] and args[7:] == ["gmap-start", "start-notebook.py"]
    env = dict(line.split("=", 1) for line in container["Env"])
    assert env["NB_UID"] == "1000" and env["CHOWN_EXTRA"] == "/home/jovyan/work,/mnt/nfs" and "GMAP_START_HOOK" in env
    mounts = {m["Target"]: m for m in container["Mounts"]}
    assert mounts["/home/jovyan/work"]["VolumeOptions"]["DriverConfig"] == {"Name": "gmap-sharedfs"}
    assert mounts["/mnt/isis/data"]["VolumeOptions"]["DriverConfig"] == {"Name": "local", "Options": NFS}
    assert template["Networks"] == [{"Target": NETWORK}]
    # the default image's own constraints come after every server's
    assert template["Placement"] == {"Constraints": ["node.role==worker", "node.labels.memory==big"]}
    limits = {"NanoCPUs": 1_500_000_000, "MemoryBytes": 2 * 1024**3}
    assert template["Resources"] == {"Limits": {**limits, "Pids": 1024}, "Reservations": limits}
    assert template["RestartPolicy"]["Condition"] == "none"
    # bounded like a host-mode server: processes (above) and the log
    assert template["LogDriver"] == {"Name": "json-file", "Options": {"max-size": "10m", "max-file": "3"}}


def test_without_no_new_privileges_the_command_is_the_images(swarm_spawner):
    engine = Swarm([task("running")])
    spawner = swarm_spawner(engine, privileges={"noNewPrivileges": False, "capDrop": [], "capAdd": []})
    start(spawner)
    assert engine.created[0]["task_template"]["ContainerSpec"]["Args"] == ["start-notebook.py"]


def test_a_size_sets_the_tasks_limits_and_reservations(swarm_spawner):
    engine = Swarm([task("running")])
    size = {
        "name": "large",
        "displayName": "large",
        "memLimit": "8G",
        "cpuLimit": 4,
        "pidsLimit": 4096,
        "shmSize": None,
        "gpus": None,
        "groups": None,
        "images": None,
    }
    spawner = swarm_spawner(engine, memLimit="2G", sizes=[size], defaultSize="large")
    asyncio.run(spawner._run_apply_user_options({"size": "large"}))
    start(spawner)
    limits = {"NanoCPUs": 4_000_000_000, "MemoryBytes": 8 * 1024**3}
    assert engine.created[0]["task_template"]["Resources"] == {"Limits": {**limits, "Pids": 4096}, "Reservations": limits}


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
    assert template["Resources"] == {"Limits": {"MemoryBytes": 4 * 1024**3, "Pids": 1024}, "Reservations": {"MemoryBytes": 1024**3}}


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


def test_a_server_on_a_node_without_a_running_egress_guard_fails_to_start(swarm_spawner):
    elsewhere = {"NodeID": "node-2", "DesiredState": "running", "Status": {"State": "running"}}
    starting = {"NodeID": NODE, "DesiredState": "running", "Status": {"State": "starting"}}
    for guards in ([], [elsewhere], [starting], "gone"):
        engine = Swarm([task("running")], guards=guards)
        with pytest.raises(web.HTTPError) as e:
            start(swarm_spawner(engine))
        assert e.value.jupyterhub_message.startswith(f"The server's node has no egress guard running ({GUARD})")


def test_without_egress_rules_no_guard_is_asked_for(swarm_spawner, swarm_settings):
    del swarm_settings[0]["spawner"]["swarm"]["egressGuard"]
    engine = Swarm([task("running")], guards=[])
    assert start(swarm_spawner(engine)) == ("10.251.7.18", 8888)


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


def test_at_the_hubs_start_a_running_task_is_found_at_its_own_address(swarm_spawner):
    # a spawn the earlier hub did not finish: the hub's record has the placeholder it began with
    from jupyterhub.objects import Server

    networks = {NETWORK: {"Id": "net-ada", "Labels": dict(NETWORK_LABELS), "members": {}}}
    engine = Swarm([task("running")], networks=networks)
    engine.service = "svc-1"
    spawner = swarm_spawner(engine)
    spawner.server = Server(ip="26e6108df025", port=55865, base_url="/user/ada/")
    spawner._check_pending = True
    assert asyncio.run(spawner.poll()) is None
    assert asyncio.run(spawner.get_url()) == f"http://10.251.7.18:{spawner.port}/user/ada/"


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
    from gmap_hub.spawner.swarm import _in_time_order

    log = "2025-01-01T10:00:01.5Z second\ncontinued\n2025-01-01T10:00:01.05Z first\n2025-01-01T10:00:02Z third\n"
    assert _in_time_order(log) == ["first", "second", "continued", "third"]


# -- no-new-privileges for a service's command ------------------------------------------------------
STATUS = ["python3", "-c", "print(open('/proc/self/status').read())"]


def run_without_privilege_gain(path: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["/bin/sh", "-c", NO_NEW_PRIVILEGES_WRAPPER, "gmap-no-new-privileges", *STATUS],
        env={"PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_wrapper_sets_no_new_privileges_with_setpriv():
    assert shutil.which("setpriv"), "util-linux's setpriv is on this machine"
    assert "NoNewPrivs:\t0" in open("/proc/self/status").read(), "the test itself runs without it"
    result = run_without_privilege_gain(os.environ["PATH"] + os.pathsep + os.path.dirname(sys.executable))
    assert result.returncode == 0, result.stderr
    assert "NoNewPrivs:\t1" in result.stdout


def test_the_wrapper_sets_no_new_privileges_with_python_alone(tmp_path):
    (tmp_path / "python3").symlink_to(sys.executable)
    result = run_without_privilege_gain(str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "NoNewPrivs:\t1" in result.stdout


def test_nothing_of_the_users_runs_before_no_new_privileges(tmp_path):
    # a sitecustomize module where the user could put one (PYTHONPATH, like a .pth file in the
    # home's site directory) records the no-new-privileges of every Python that loads it
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python3").symlink_to(sys.executable)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(
        f"import re\nwith open({str(tmp_path / 'seen')!r}, 'a') as f:\n    f.write(re.search(r'NoNewPrivs:\\s*(\\d)', open('/proc/self/status').read())[1])\n"
    )
    result = run_without_privilege_gain(str(tmp_path / "bin"), PYTHONPATH=str(tmp_path / "site"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "seen").read_text() == "1", "only the server's command, with no-new-privileges, loaded it"


def test_the_wrapper_refuses_to_start_without_either(tmp_path):
    result = run_without_privilege_gain(str(tmp_path))
    assert result.returncode == 1
    assert "neither setpriv nor python3" in result.stderr
