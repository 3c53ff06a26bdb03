"""GmapDockerSpawner as a whole: docker options, environment, the container request, the shared
Docker threads, share credentials kept out of the log."""

import asyncio

from spawner_fakes import ESCAPED, ISIS, LABELS, NETWORK_CALLS, NETWORK_LABELS, FakeNetworks


def test_docker_options(hub, settings, secrets, make_spawner):
    app = hub(settings, secrets)
    assert app.spawner_class.__name__ == "GmapDockerSpawner"
    spawner = make_spawner(app)
    # its own network, reached at its address there
    assert spawner.network_name == f"gmap-dev-u-{ESCAPED}"
    assert spawner.use_internal_ip is True
    assert (spawner.hub_container, spawner.hub_alias, spawner.proxy_container) == ("gmap-dev-hub", "hub", "gmap-dev-proxy")
    assert spawner.network_labels == NETWORK_LABELS
    assert spawner.remove is True
    assert spawner.escaped_name == ESCAPED
    assert spawner.object_name == f"gmap-dev-user-{ESCAPED}"
    assert (spawner.start_timeout, spawner.http_timeout) == (600, 120)
    assert (spawner.default_url, spawner.notebook_dir) == ("/lab", "/home/jovyan")
    # no limits configured: DockerSpawner's defaults (0: unlimited)
    assert "mem_limit" not in app.config.DockerSpawner and "cpu_limit" not in app.config.DockerSpawner
    assert not spawner.mem_limit and not spawner.cpu_limit
    # root start so docker-stacks fixes ownership; DockerSpawner 14 sets no labels of its own
    assert spawner.extra_create_kwargs == {"user": "root", "labels": LABELS}


def test_resource_limits(hub, settings, secrets, make_spawner):
    settings["spawner"].update(memLimit="4G", cpuLimit=2)
    spawner = make_spawner(hub(settings, secrets))
    assert spawner.mem_limit == 4 * 1024**3
    assert spawner.cpu_limit == 2.0


def test_process_and_log_limits_come_from_settings(hub, settings, secrets, make_spawner):
    settings["spawner"].update(pidsLimit=300, logOptions={"max-size": "1m", "max-file": "2"})
    spawner = make_spawner(hub(settings, secrets))
    assert spawner.extra_host_config["pids_limit"] == 300
    assert spawner.extra_host_config["log_config"] == {"type": "json-file", "config": {"max-size": "1m", "max-file": "2"}}


def test_spawns_at_once_are_bounded_by_the_settings(hub, settings, secrets):
    settings["spawner"]["concurrentSpawnLimit"] = 7
    assert hub(settings, secrets).config.JupyterHub.concurrent_spawn_limit == 7


def test_servers_where_users_may_be_root_keep_dockers_defaults(hub, settings, secrets, make_spawner):
    settings["spawner"]["privileges"] = {"noNewPrivileges": False, "capDrop": [], "capAdd": []}
    spawner = make_spawner(hub(settings, secrets))
    assert not {"security_opt", "cap_drop", "cap_add"} & set(spawner.extra_host_config)


def test_environment_sets_ids_and_chowns_writable_mounts_only(hub, settings, secrets, make_spawner):
    spawner = make_spawner(hub(settings, secrets))
    assert spawner.environment == {
        "NB_UID": "1000",
        "NB_GID": "100",
        "CHOWN_HOME": "yes",
        "ISISDATA": "/mnt/isis/data",
    }
    spawner.api_token = "t" * 32
    env = spawner.get_env()
    assert env["ISISDATA"] == "/mnt/isis/data" and env["NB_UID"] == "1000"
    # the writable mounts of this start, whose ownership the start-up fixes
    assert env["CHOWN_EXTRA"] == "/home/jovyan/work,/mnt/nfs,/mnt/scratch"
    assert "GMAP_START_HOOK" not in env


def test_no_writable_mounts_means_no_chown_extra(hub, settings, secrets, make_spawner):
    settings["spawner"].update(uid=1234, gid=1234, environment={})
    settings["spawner"]["mounts"] = [settings["spawner"]["mounts"][1]]
    spawner = make_spawner(hub(settings, secrets))
    assert spawner.environment == {"NB_UID": "1234", "NB_GID": "1234", "CHOWN_HOME": "yes"}
    assert [m["Target"] for m in spawner.mount_binds] == ["/mnt/isis/data"]
    spawner.api_token = "t" * 32
    assert "CHOWN_EXTRA" not in spawner.get_env()


def test_create_container_request(hub, settings, secrets, make_spawner, monkeypatch):
    """The request DockerSpawner.create_object sends to Docker, from the configured spawner."""
    import docker

    settings["hooks"]["startScript"] = "echo hook\n"
    settings["spawner"].update(memLimit="2G", cpuLimit=1.5)
    spawner = make_spawner(hub(settings, secrets))
    spawner.api_token = "t" * 32
    # an explicit API version: the client never contacts a daemon
    monkeypatch.setattr(type(spawner), "_client", docker.APIClient(base_url="unix:///nonexistent.sock", version="1.43"))
    requests = []

    async def fake_docker(method, *args, **kwargs):
        if method in NETWORK_CALLS:
            return await network(method, *args, **kwargs)
        if method == "inspect_image":
            return {"Config": {"Cmd": ["start-notebook.py"]}}
        if method == "wait":
            return {"StatusCode": 0}
        if method in ("start", "remove_container"):
            return None
        assert method == "create_container"
        requests.append(kwargs)
        return {"Id": "0123456789abcdef"}

    network = FakeNetworks()
    spawner.docker = fake_docker
    asyncio.run(spawner.create_object())
    helper, request = requests  # the scratch directory's helper comes first
    assert request["image"] == ISIS
    assert request["name"] == f"gmap-dev-user-{ESCAPED}"
    assert request["user"] == "root"
    assert request["labels"] == LABELS
    assert request["command"][:2] == ["sh", "-c"] and request["command"][3:] == ["gmap-start", "start-notebook.py"]
    assert request["environment"]["CHOWN_EXTRA"] == "/home/jovyan/work,/mnt/nfs,/mnt/scratch"
    assert "GMAP_START_HOOK" in request["environment"]
    host = request["host_config"]
    assert host["NetworkMode"] == f"gmap-dev-u-{ESCAPED}"  # its own network only
    assert host["AutoRemove"] is True
    assert host["Memory"] == 2 * 1024**3
    assert host["CpuQuota"] == 150000 and host["CpuPeriod"] == 100000
    assert "PortBindings" not in host  # internal IP on the network, nothing published
    # bounded: processes and threads, and the log on the host's disk
    assert host["PidsLimit"] == 1024
    # no privilege gain, only the start-up's capabilities
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["CapDrop"] == ["ALL"]
    assert host["CapAdd"] == ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID", "KILL", "AUDIT_WRITE"]
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}
    mounts = {m["Target"]: m for m in host["Mounts"]}
    assert mounts["/mnt/nfs"]["VolumeOptions"]["DriverConfig"]["Options"]["device"] == f":/export/{ESCAPED}"
    assert mounts["/mnt/isis/data"]["ReadOnly"] is True


def test_spawns_share_a_pool_of_docker_threads(hub, settings, secrets, make_spawner):
    import threading

    app = hub(settings, secrets)
    first, second = make_spawner(app), make_spawner(app)
    assert first.executor is second.executor and first.executor._max_workers == 8
    both = threading.Barrier(2, timeout=5)
    # two blocking calls at once: with one thread (DockerSpawner's default) the barrier breaks
    done = [first.executor.submit(both.wait), second.executor.submit(both.wait)]
    assert sorted(f.result(timeout=10) for f in done) == [0, 1]


def test_share_credentials_never_reach_the_log(hub, settings, secrets, make_spawner):
    import logging

    secrets["mountDriverOptions"]["home-nfs"] = {"type": "cifs", "device": "//smb/{username}", "o": "addr=smb,username=gmap,password=s3cr3t-pw,vers=3.0"}
    spawner = make_spawner(hub(settings, secrets), "ada")
    records = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append
    spawner.log.addHandler(handler)
    level = spawner.log.level
    spawner.log.setLevel(logging.DEBUG)
    try:
        # what DockerSpawner logs before creating the container
        spawner.log.debug("Starting host with config: %s", {"mounts": spawner.mounts})
        make_spawner(hub(settings, secrets), "bob")  # a second spawner adds no second filter
    finally:
        spawner.log.removeHandler(handler)
        spawner.log.setLevel(level)
    logged = "\n".join(r.getMessage() for r in records)
    assert "password=[hidden]" in logged and "s3cr3t-pw" not in logged
    assert "username=gmap" in logged, "only the secret is hidden"
    from gmap_hub.spawner.logs import HideShareCredentials

    assert sum(isinstance(f, HideShareCredentials) for f in spawner.log.filters) == 1
