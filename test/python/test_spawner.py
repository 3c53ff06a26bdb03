"""GmapDockerSpawner: docker options, mounts per user, environment, image menu, start hook."""

import asyncio
import base64
import os
import subprocess
from types import SimpleNamespace

import pytest
from tornado import web

# DockerSpawner's escaping of "Ada.Lovelace@x": [a-z0-9] kept, everything else "-" + hex, lower-cased
ESCAPED = "-41da-2e-4covelace-40x"
LABELS = {"org.europlanet-gmap.jupyterhub.stack": "dev", "org.europlanet-gmap.jupyterhub.component": "user"}
NETWORK_LABELS = {"org.europlanet-gmap.jupyterhub.stack": "dev", "org.europlanet-gmap.jupyterhub.component": "user-network"}


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


def mounts_by_target(spawner):
    return {m["Target"]: m for m in spawner.mount_binds}


def test_mounts_are_built_for_the_escaped_user_name(hub, settings, secrets, make_spawner):
    spawner = make_spawner(hub(settings, secrets))
    mounts = mounts_by_target(spawner)
    assert set(mounts) == {"/home/jovyan/work", "/mnt/isis/data", "/mnt/nfs", "/mnt/scratch"}

    work = mounts["/home/jovyan/work"]
    assert (work["Type"], work["Source"], work["ReadOnly"]) == ("volume", f"gmap-dev-user-{ESCAPED}", False)
    assert work["VolumeOptions"] == {"Labels": LABELS}

    isis = mounts["/mnt/isis/data"]
    # a shared volume declared by the stack: read-only, no labels/driver (Docker would ignore them)
    assert (isis["Type"], isis["Source"], isis["ReadOnly"]) == ("volume", "gmap-dev-isis", True)
    assert "VolumeOptions" not in isis

    nfs = mounts["/mnt/nfs"]
    assert nfs["Source"] == f"gmap-dev-home-nfs-{ESCAPED}"
    assert nfs["VolumeOptions"]["Labels"] == LABELS
    assert nfs["VolumeOptions"]["DriverConfig"] == {
        "Name": "local",
        "Options": {"type": "nfs", "o": "addr=10.0.0.5,rw,nfsvers=4", "device": f":/export/{ESCAPED}"},
    }

    scratch = mounts["/mnt/scratch"]
    assert (scratch["Type"], scratch["Source"], scratch["ReadOnly"]) == ("bind", f"/srv/scratch/{ESCAPED}", False)
    assert "VolumeOptions" not in scratch


def test_other_users_get_their_own_sources(hub, settings, secrets, make_spawner):
    app = hub(settings, secrets)
    ada, bob = make_spawner(app, "ada"), make_spawner(app, "bob-smith")
    assert mounts_by_target(ada)["/mnt/scratch"]["Source"] == "/srv/scratch/ada"
    assert mounts_by_target(bob)["/mnt/scratch"]["Source"] == "/srv/scratch/bob-2dsmith"
    assert mounts_by_target(bob)["/mnt/nfs"]["VolumeOptions"]["DriverConfig"]["Options"]["device"] == ":/export/bob-2dsmith"
    # the shared driver options in the config are left untouched
    assert mounts_by_target(ada)["/mnt/nfs"]["VolumeOptions"]["DriverConfig"]["Options"]["device"] == ":/export/ada"


def test_braces_other_than_username_stay_literal(hub, settings, secrets, make_spawner):
    settings["spawner"]["mounts"][3]["source"] = "/srv/odd{dir}/{username}"
    secrets["mountDriverOptions"]["home-nfs"]["o"] = "addr=10.0.0.5,password={x}"
    spawner = make_spawner(hub(settings, secrets))
    mounts = mounts_by_target(spawner)
    assert mounts["/mnt/scratch"]["Source"] == f"/srv/odd{{dir}}/{ESCAPED}"
    assert mounts["/mnt/nfs"]["VolumeOptions"]["DriverConfig"]["Options"]["o"] == "addr=10.0.0.5,password={x}"


def test_environment_sets_ids_and_chowns_writable_mounts_only(hub, settings, secrets, make_spawner):
    spawner = make_spawner(hub(settings, secrets))
    assert spawner.environment == {
        "NB_UID": "1000",
        "NB_GID": "100",
        "CHOWN_HOME": "yes",
        "CHOWN_EXTRA": "/home/jovyan/work,/mnt/nfs,/mnt/scratch",
        "ISISDATA": "/mnt/isis/data",
    }
    spawner.api_token = "t" * 32
    env = spawner.get_env()
    assert env["ISISDATA"] == "/mnt/isis/data" and env["NB_UID"] == "1000"
    assert "GMAP_START_HOOK" not in env


def test_no_writable_mounts_means_no_chown_extra(hub, settings, secrets, make_spawner):
    settings["spawner"].update(uid=1234, gid=1234, environment={})
    settings["spawner"]["mounts"] = [settings["spawner"]["mounts"][1]]
    spawner = make_spawner(hub(settings, secrets))
    assert spawner.environment == {"NB_UID": "1234", "NB_GID": "1234", "CHOWN_HOME": "yes"}
    assert [m["Target"] for m in spawner.mount_binds] == ["/mnt/isis/data"]


# -- images -------------------------------------------------------------------------------------
MINIMAL = "quay.io/jupyter/minimal-notebook:2025-03-14"
ISIS = "gmap/jupyter-isis-asp:2025.1"


def test_several_images_offer_a_bootstrap5_form(hub, settings, secrets, make_spawner):
    spawner = make_spawner(hub(settings, secrets))
    assert spawner.image == ISIS  # the default image
    assert spawner.allowed_images == {"Minimal (Python)": MINIMAL, "ISIS & ASP <planetary>": ISIS}
    form = spawner.options_form
    assert 'class="form-select"' in form and 'class="form-label"' in form and 'name="image"' in form
    assert "form-control" not in form  # Bootstrap 3 markup renders unstyled in JupyterHub 5
    assert '<option value="minimal" title="quay.io/jupyter/minimal-notebook:2025-03-14">Minimal (Python)</option>' in form
    # display names are escaped; only the default is preselected
    assert '<option value="isis" title="gmap/jupyter-isis-asp:2025.1" selected>ISIS &amp; ASP &lt;planetary&gt;</option>' in form
    assert form.count("selected") == 1
    assert asyncio.run(spawner.get_options_form()) == form


def test_preselection_follows_default_image(hub, settings, secrets, make_spawner):
    settings["spawner"]["defaultImage"] = "minimal"
    spawner = make_spawner(hub(settings, secrets))
    assert spawner.image == MINIMAL
    assert '<option value="minimal" title="quay.io/jupyter/minimal-notebook:2025-03-14" selected>' in spawner.options_form
    assert spawner.options_form.count("selected") == 1


def test_form_choice_is_resolved_to_an_allowed_image(hub, settings, secrets, make_spawner):
    spawner = make_spawner(hub(settings, secrets))
    options = spawner.run_options_from_form({"image": ["minimal"]})
    assert options == {"image": "minimal"}
    for choice in ("minimal", "Minimal (Python)", MINIMAL):
        assert asyncio.run(spawner.check_allowed(choice)) == MINIMAL
    assert asyncio.run(spawner.check_allowed("ISIS & ASP <planetary>")) == ISIS


@pytest.mark.parametrize("choice", ["evil/miner:latest", "quay.io/jupyter/minimal-notebook:latest", "", ["minimal"]])
def test_images_outside_the_list_are_rejected(hub, settings, secrets, make_spawner, choice):
    spawner = make_spawner(hub(settings, secrets))
    with pytest.raises(web.HTTPError) as e:
        asyncio.run(spawner.check_allowed(choice))
    assert e.value.status_code == 400
    if isinstance(choice, str):
        assert "is not offered on this hub" in e.value.log_message
        assert "Minimal (Python), ISIS & ASP <planetary>" in e.value.log_message
    # JupyterHub 5.3+ runs apply_user_options before the start: the error reaches the form
    with pytest.raises(web.HTTPError) as e:
        asyncio.run(spawner._run_apply_user_options({"image": choice}))
    assert e.value.status_code == 400


def test_single_image_has_no_form(hub, settings, secrets, make_spawner):
    settings["spawner"]["images"] = settings["spawner"]["images"][:1]
    settings["spawner"]["defaultImage"] = "minimal"
    spawner = make_spawner(hub(settings, secrets))
    assert spawner.image == MINIMAL
    assert spawner.allowed_images == {}
    assert spawner.options_form == ""
    assert asyncio.run(spawner.check_allowed("minimal")) == MINIMAL
    with pytest.raises(web.HTTPError):
        asyncio.run(spawner.check_allowed(ISIS))


# -- start hook ---------------------------------------------------------------------------------
def with_image_cmd(spawner, cmd):
    calls = []

    async def docker(method, *args, **kwargs):
        calls.append((method, args))
        assert method == "inspect_image"
        return {"Config": {"Cmd": cmd}}

    spawner.docker = docker
    return calls


def test_without_start_hook_the_image_command_is_kept(hub, settings, secrets, make_spawner):
    spawner = make_spawner(hub(settings, secrets))
    calls = with_image_cmd(spawner, ["start-notebook.py"])
    assert asyncio.run(spawner.get_command()) == ["start-notebook.py"]
    assert calls == [("inspect_image", (ISIS,))]


def test_start_hook_wraps_the_image_command(hub, settings, secrets, make_spawner):
    from gmap_hub.spawner import START_HOOK_WRAPPER

    settings["hooks"]["startScript"] = '#!/bin/sh\necho hello > "$HOME/hello"\n'
    spawner = make_spawner(hub(settings, secrets))
    spawner.args = ["--ServerApp.log_level=DEBUG"]
    with_image_cmd(spawner, ["start-notebook.py"])
    assert asyncio.run(spawner.get_command()) == [
        "sh",
        "-c",
        START_HOOK_WRAPPER,
        "gmap-start",
        "start-notebook.py",
        "--ServerApp.log_level=DEBUG",
    ]
    spawner.api_token = "t" * 32
    encoded = spawner.get_env()["GMAP_START_HOOK"]
    assert base64.b64decode(encoded).decode() == settings["hooks"]["startScript"]


def run_wrapper(tmp_path, script, command):
    """Runs the wrapper with a ``sleep`` that only records its arguments (in tmp_path/slept)."""
    from gmap_hub.spawner import START_HOOK_WRAPPER

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sleep").write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/slept\n')
    (bin_dir / "sleep").chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    if script is not None:
        env["GMAP_START_HOOK"] = base64.b64encode(script.encode()).decode()
    return subprocess.run(
        ["sh", "-c", START_HOOK_WRAPPER, "gmap-start", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_wrapper_runs_the_hook_then_the_server(tmp_path):
    script = '#!/bin/sh\nset -e\necho "hook ran with $GMAP_START_HOOK." > "$HOME/hook-marker"\n'
    result = run_wrapper(tmp_path, script, ["sh", "-c", 'echo "server started with $# args: $*"', "x", "a b", "c"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "server started with 2 args: a b c\n"
    assert result.stderr.splitlines()[-1] == "gmap-start: the start hook succeeded; starting the server"
    assert not (tmp_path / "slept").exists()
    # the hook's own variable is gone before the hook and the server run
    assert (tmp_path / "hook-marker").read_text() == "hook ran with .\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("gmap-start-hook")]


def test_wrapper_accepts_a_script_without_shebang(tmp_path):
    result = run_wrapper(tmp_path, 'echo plain > "$HOME/plain"\n', ["true"])
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "plain").read_text() == "plain\n"


def test_a_failing_hook_fails_the_start(tmp_path):
    result = run_wrapper(tmp_path, "#!/bin/sh\necho broken >&2\nexit 3\n", ["sh", "-c", "echo server started"])
    assert result.returncode == 3
    assert "server started" not in result.stdout
    assert "gmap-start: the start hook failed with exit status 3" in result.stderr.splitlines()[-1]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("gmap-start-hook")]
    # the container waits (bounded) for the hub to read its log and stop it
    assert (tmp_path / "slept").read_text() == "60\n"


def test_a_missing_hook_variable_fails_the_start(tmp_path):
    result = run_wrapper(tmp_path, None, ["sh", "-c", "echo server started"])
    assert result.returncode == 1
    assert "server started" not in result.stdout


NETWORK_CALLS = {
    "inspect_network",
    "create_network",
    "connect_container_to_network",
    "disconnect_container_from_network",
    "remove_network",
    "networks",
}


def _not_found(what):
    import docker

    response = SimpleNamespace(status_code=404, reason="Not Found", url="http://docker/x")
    return docker.errors.NotFound(f"{what} not found", response=response)


def _api_error(status, message):
    import docker

    response = SimpleNamespace(status_code=status, reason="Error", url="http://docker/x")
    return docker.errors.APIError(message, response=response, explanation=message)


class FakeNetworks:
    """Docker's networks as the spawner sees them: name -> {"Id", "Labels", "members": {name: aliases}}.
    Records every call in ``calls``."""

    def __init__(self, networks=None, taken=()):
        self.networks = networks if networks is not None else {}
        # subnets other (not user) networks of the host hold
        self.taken = set(taken)
        self.calls = []

    def by_id(self, net_id):
        for name, net in self.networks.items():
            if net["Id"] == net_id or name == net_id:
                return name, net
        raise _not_found(f"network {net_id}")

    async def __call__(self, method, *args, **kwargs):
        self.calls.append((method, args, kwargs))
        if method == "inspect_network":
            name, net = self.by_id(args[0])
            containers = {f"id-{m}": {"Name": m} for m in net["members"]}
            return {"Name": name, "Id": net["Id"], "Labels": net["Labels"], "Containers": containers}
        if method == "networks":
            wanted = dict(label.split("=", 1) for label in kwargs["filters"]["label"])
            return [
                {"Name": name, "IPAM": {"Config": [{"Subnet": net["Subnet"]}] if net.get("Subnet") else []}}
                for name, net in self.networks.items()
                if all(net["Labels"].get(k) == v for k, v in wanted.items())
            ]
        if method == "create_network":
            name = args[0]
            if name in self.networks:
                raise _api_error(409, f"network with name {name} already exists")
            ipam = kwargs.get("ipam")
            subnet = ipam["Config"][0]["Subnet"] if ipam else None
            if subnet in self.taken or subnet in {n.get("Subnet") for n in self.networks.values()}:
                raise _api_error(403, f"Pool overlaps with other one on this address space: {subnet}")
            self.networks[name] = {
                "Id": f"net-{len(self.networks)}",
                "Labels": dict(kwargs.get("labels") or {}),
                "members": {},
                "Subnet": subnet,
            }
            return {"Id": self.networks[name]["Id"]}
        if method == "connect_container_to_network":
            container, net_id = args
            _, net = self.by_id(net_id)
            if container in net["members"]:
                raise _api_error(403, f"endpoint with name {container} already exists in network")
            net["members"][container] = kwargs.get("aliases")
            return None
        if method == "disconnect_container_from_network":
            container, net_id = args
            _, net = self.by_id(net_id)
            if container not in net["members"]:
                raise _not_found(f"container {container}")
            del net["members"][container]
            return None
        if method == "remove_network":
            name, net = self.by_id(args[0])
            if net["members"]:
                raise _api_error(403, f"error while removing network: network {name} has active endpoints")
            del self.networks[name]
            return None
        raise AssertionError(method)


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
    mounts = {m["Target"]: m for m in host["Mounts"]}
    assert mounts["/mnt/nfs"]["VolumeOptions"]["DriverConfig"]["Options"]["device"] == f":/export/{ESCAPED}"
    assert mounts["/mnt/isis/data"]["ReadOnly"] is True


# -- start hook outcome -------------------------------------------------------------------------
class FakeEngine:
    """The Docker calls of DockerSpawner.start (through ``spawner.docker``) and of the start hook's
    watch: each ``logs`` call returns the next of ``logs`` (the last one repeats); the container
    stops running after ``running_polls`` looks at its state once the logs are used up."""

    def __init__(self, logs, running_polls=10**6, gone=False):
        self.logs, self.running_polls, self.gone = list(logs), running_polls, gone
        self.calls, self.created = [], False
        self.networks = FakeNetworks()

    def container(self):
        running = self.running_polls > 0
        state = {"Running": running, "ExitCode": 0 if running else 3, "Error": "", "FinishedAt": "2025-01-01T00:00:00Z"}
        networks = {f"gmap-dev-u-{ESCAPED}": {"IPAddress": "172.18.0.5"}}
        return {"Id": "c0ffee0123456789", "State": state, "NetworkSettings": {"Networks": networks}}

    async def __call__(self, method, *args, **kwargs):
        import docker

        self.calls.append((method, args, kwargs))
        if method in NETWORK_CALLS:
            return await self.networks(method, *args, **kwargs)
        if method == "inspect_image":
            return {"Config": {"Cmd": ["start-notebook.py"]}}
        if method == "create_container":
            if "entrypoint" in kwargs:  # the helper that creates the user's host directories
                return {"Id": "he1per"}
            self.created = True
            return {"Id": "c0ffee0123456789"}
        if method == "wait":
            return {"StatusCode": 0}
        if method in ("start", "remove_container"):
            return None
        if method == "inspect_container":
            if len(self.logs) <= 1 and any(c[0] == "logs" for c in self.calls):
                self.running_polls -= 1
            if not self.created or (self.gone and self.running_polls <= 0):
                response = SimpleNamespace(status_code=404, reason="Not Found", url="http://docker/containers/x/json")
                raise docker.errors.NotFound("No such container", response=response)
            return self.container()
        if method == "logs":
            return (self.logs.pop(0) if len(self.logs) > 1 else self.logs[0]).encode()
        raise AssertionError(f"unexpected docker call {method}")


def engine_spawner(hub, settings, secrets, make_spawner, monkeypatch, engine, answers=lambda url: False, hook=True):
    """A spawner whose Docker calls go to ``engine`` and whose server answers when ``answers``
    (called with the URL asked) says so."""
    import docker

    if hook:
        settings["hooks"]["startScript"] = "#!/bin/sh\nexit 3\n"
    spawner = make_spawner(hub(settings, secrets))
    spawner.api_token = "s3cr3t-api-token-0123456789abcdef"
    spawner.start_check_interval = 0.01
    spawner.ready_poll_interval = 0.001
    monkeypatch.setattr(type(spawner), "_client", docker.APIClient(base_url="unix:///nonexistent.sock", version="1.43"))
    spawner.docker = engine
    asked = []

    async def fake_answers(url):
        asked.append(url)
        return answers(url)

    spawner._answers = fake_answers
    spawner.asked = asked
    return spawner


START_SH = "Entered start.sh with args: sh -c set -eu\nRunning as jovyan\n"
STARTED = "gmap-start: running the start hook as uid 1000\n"


def test_a_failing_start_hook_fails_the_spawn_with_its_last_output(hub, settings, secrets, make_spawner, monkeypatch):
    output = "".join(f"step {i}\n" for i in range(1, 26))
    failed = (
        START_SH
        + STARTED
        + output
        + "\x1b[31mERROR\x1b[0m: token s3cr3t-api-token-0123456789abcdef rejected\t(x)\n"
        + "y" * 5000
        + "\n\n"
        + "gmap-start: the start hook failed with exit status 3; not starting the server\n"
    )
    engine = FakeEngine([START_SH, START_SH + STARTED + "step 1\n", failed])
    spawner = engine_spawner(hub, settings, secrets, make_spawner, monkeypatch, engine)
    with pytest.raises(web.HTTPError) as e:
        asyncio.run(asyncio.wait_for(spawner.start(), timeout=5))
    message = e.value.jupyterhub_message
    assert e.value.status_code == 500 and e.value.log_message % e.value.args == message
    lines = message.split("\n")
    assert lines[0] == "The start hook failed. Its last output:"
    # the last 20 non-empty lines since the hook started, cleaned and bounded
    assert lines[1:] == [
        *(f"step {i}" for i in range(9, 26)),
        "ERROR: token [hidden] rejected (x)",
        "y" * 300,
        "gmap-start: the start hook failed with exit status 3; not starting the server",
    ]
    assert "s3cr3t" not in message and "Running as" not in message and "\x1b" not in message
    assert "<pre>step 9\nstep 10\n" in e.value.jupyterhub_html_message
    # the log tail was read until the outcome; the container is left running for JupyterHub to stop
    logs = [c for c in engine.calls if c[0] == "logs"]
    assert len(logs) == 3
    assert logs[0][1:] == (("c0ffee0123456789",), {"stdout": True, "stderr": True, "tail": 1000})
    assert not [c for c in engine.calls if c[0] in ("stop", "remove_container") and c[1] == ("c0ffee0123456789",)]


def test_a_successful_start_hook_lets_the_server_start(hub, settings, secrets, make_spawner, monkeypatch):
    succeeded = START_SH + STARTED + "hello\ngmap-start: the start hook succeeded; starting the server\n[I ServerApp] ...\n"
    engine = FakeEngine([START_SH + STARTED, START_SH + STARTED + "hello\n", succeeded])
    # the server answers once the wrapper has started it, after the hook's success line
    spawner = engine_spawner(hub, settings, secrets, make_spawner, monkeypatch, engine, answers=lambda url: [c[0] for c in engine.calls].count("logs") >= 3)
    assert asyncio.run(asyncio.wait_for(spawner.start(), timeout=5)) == ("172.18.0.5", 8888)
    assert len([c for c in engine.calls if c[0] == "logs"]) == 3
    assert spawner.asked[-1] == f"http://172.18.0.5:8888/user/{spawner.user.name}/api"


@pytest.mark.parametrize("gone", [False, True])
def test_a_container_that_stops_before_the_hook_outcome_fails_the_spawn(hub, settings, secrets, make_spawner, monkeypatch, gone):
    engine = FakeEngine([START_SH + STARTED + "cloning\n"], running_polls=2, gone=gone)
    spawner = engine_spawner(hub, settings, secrets, make_spawner, monkeypatch, engine)
    with pytest.raises(web.HTTPError) as e:
        asyncio.run(asyncio.wait_for(spawner.start(), timeout=5))
    assert e.value.jupyterhub_message == "The server's container stopped before the start hook finished. Its last output:\ncloning"


def test_start_returns_as_soon_as_the_server_answers(hub, settings, secrets, make_spawner, monkeypatch):
    engine = FakeEngine([""])
    spawner = engine_spawner(hub, settings, secrets, make_spawner, monkeypatch, engine, answers=lambda url: len(spawner.asked) >= 5, hook=False)
    spawner.start_check_interval = 3600  # no look at the container needed
    assert asyncio.run(asyncio.wait_for(spawner.start(), timeout=5)) == ("172.18.0.5", 8888)
    assert len(spawner.asked) == 5
    assert [c[0] for c in engine.calls].count("logs") == 0


def test_a_server_that_stops_before_it_answers_fails_the_spawn_at_once(hub, settings, secrets, make_spawner, monkeypatch):
    engine = FakeEngine(["Traceback (most recent call last):\nImportError: no module named jupyterhub\n"])

    def crashed(url):  # the server exits while the spawner waits for it
        engine.running_polls = 0
        return False

    spawner = engine_spawner(hub, settings, secrets, make_spawner, monkeypatch, engine, answers=crashed, hook=False)
    with pytest.raises(web.HTTPError) as e:
        asyncio.run(asyncio.wait_for(spawner.start(), timeout=5))
    assert e.value.jupyterhub_message == (
        "The server's container stopped before it answered. Its last output:\nTraceback (most recent call last):\nImportError: no module named jupyterhub"
    )


def test_a_server_that_never_answers_is_left_to_jupyterhubs_own_wait(hub, settings, secrets, make_spawner, monkeypatch):
    engine = FakeEngine([""])
    spawner = engine_spawner(hub, settings, secrets, make_spawner, monkeypatch, engine, hook=False)
    spawner.http_timeout = 1
    assert asyncio.run(asyncio.wait_for(spawner.start(), timeout=5)) == ("172.18.0.5", 8888)
    assert len(spawner.asked) > 3


def test_spawns_share_a_pool_of_docker_threads(hub, settings, secrets, make_spawner):
    import threading

    app = hub(settings, secrets)
    first, second = make_spawner(app), make_spawner(app)
    assert first.executor is second.executor and first.executor._max_workers == 8
    both = threading.Barrier(2, timeout=5)
    # two blocking calls at once: with one thread (DockerSpawner's default) the barrier breaks
    done = [first.executor.submit(both.wait), second.executor.submit(both.wait)]
    assert sorted(f.result(timeout=10) for f in done) == [0, 1]


# -- per-user host directories ------------------------------------------------------------------
def test_per_user_host_directories_are_found_below_their_fixed_parent(hub, settings, secrets, make_spawner):
    settings["spawner"]["mounts"].append(
        {
            "name": "deep",
            "type": "bind",
            "source": "/srv/deep/u-{username}/data",
            "target": "/mnt/deep",
            "readOnly": True,
            "perUser": True,
            "driverOptions": False,
        }
    )
    settings["spawner"]["mounts"].append(
        {"name": "shared", "type": "bind", "source": "/srv/shared", "target": "/mnt/shared", "readOnly": False, "perUser": False, "driverOptions": False}
    )
    spawner = make_spawner(hub(settings, secrets))
    assert spawner.host_dirs() == [
        ("/srv/scratch", [ESCAPED]),
        ("/srv/deep", [f"u-{ESCAPED}", f"u-{ESCAPED}/data"]),
    ]


@pytest.mark.parametrize("source", ["/{username}", "/srv/{username}/../etc", "/srv/{username}/./x", "/srv/{username}//x"])
def test_unsafe_per_user_host_paths_are_refused(hub, settings, secrets, make_spawner, source):
    settings["spawner"]["mounts"][3]["source"] = source
    spawner = make_spawner(hub(settings, secrets))
    with pytest.raises(ValueError, match="cannot create"):
        spawner.host_dirs()


class HelperEngine:
    """The Docker calls of create_object: the helper container's, then the notebook container's."""

    def __init__(self, status=0, log=b""):
        self.status, self.log, self.calls = status, log, []
        self.networks = FakeNetworks()

    async def __call__(self, method, *args, **kwargs):
        if method in NETWORK_CALLS:
            return await self.networks(method, *args, **kwargs)
        self.calls.append((method, args, kwargs))
        if method == "inspect_image":
            return {"Config": {"Cmd": ["start-notebook.py"]}}
        if method == "create_container":
            return {"Id": "he1per" if "entrypoint" in kwargs else "c0ffee"}
        if method == "wait":
            return {"StatusCode": self.status}
        if method == "logs":
            return self.log
        return None


def helper_spawner(hub, settings, secrets, make_spawner, monkeypatch, engine):
    import docker

    spawner = make_spawner(hub(settings, secrets))
    spawner.api_token = "t" * 32
    monkeypatch.setattr(type(spawner), "_client", docker.APIClient(base_url="unix:///nonexistent.sock", version="1.43"))
    spawner.docker = engine
    return spawner


def test_a_helper_container_creates_the_user_host_directory_first(hub, settings, secrets, make_spawner, monkeypatch):
    from gmap_hub.spawner import MKDIR_SCRIPT

    engine = HelperEngine()
    spawner = helper_spawner(hub, settings, secrets, make_spawner, monkeypatch, engine)
    asyncio.run(spawner.create_object())
    assert engine.calls[:4] == [
        (
            "create_container",
            (),
            {
                "image": ISIS,
                "entrypoint": ["sh", "-c", MKDIR_SCRIPT, "gmap-mkdir"],
                "command": ["/gmap-host", "1000:100", ESCAPED],
                "user": "0:0",
                "labels": LABELS,
                "network_disabled": True,
                "host_config": {
                    "Mounts": [{"Type": "bind", "Source": "/srv/scratch", "Target": "/gmap-host", "ReadOnly": False}],
                    "NetworkMode": "none",
                },
            },
        ),
        ("start", ("he1per",), {}),
        ("wait", ("he1per",), {"timeout": 60}),
        ("remove_container", ("he1per",), {"force": True}),
    ]
    # then the notebook container, with the directory bind-mounted
    assert [c[0] for c in engine.calls[4:]] == ["inspect_image", "create_container"]
    assert engine.calls[-1][2]["name"] == f"gmap-dev-user-{ESCAPED}"


def test_a_failing_helper_fails_the_spawn_and_is_removed(hub, settings, secrets, make_spawner, monkeypatch):
    engine = HelperEngine(status=1, log=b"mkdir: cannot create directory 'x': Read-only file system\n")
    spawner = helper_spawner(hub, settings, secrets, make_spawner, monkeypatch, engine)
    with pytest.raises(web.HTTPError) as e:
        asyncio.run(spawner.create_object())
    assert e.value.log_message % e.value.args == (
        f"Could not create /srv/scratch/{ESCAPED} on the Docker host: mkdir: cannot create directory 'x': Read-only file system"
    )
    assert [c[0] for c in engine.calls] == ["create_container", "start", "wait", "logs", "remove_container"]
    assert engine.calls[3][1:] == (("he1per",), {"tail": 20})


def test_without_per_user_host_directories_no_helper_runs(hub, settings, secrets, make_spawner, monkeypatch):
    settings["spawner"]["mounts"] = settings["spawner"]["mounts"][:3]
    engine = HelperEngine()
    spawner = helper_spawner(hub, settings, secrets, make_spawner, monkeypatch, engine)
    asyncio.run(spawner.create_object())
    assert [c[0] for c in engine.calls] == ["inspect_image", "create_container"]


def run_mkdir_script(parent, *dirs):
    from gmap_hub.spawner import MKDIR_SCRIPT

    owner = f"{os.getuid()}:{os.getgid()}"
    return subprocess.run(["sh", "-c", MKDIR_SCRIPT, "gmap-mkdir", str(parent), owner, *dirs], capture_output=True, text=True, timeout=30)


def test_mkdir_script_creates_missing_directories_private(tmp_path):
    (tmp_path / "u-ada").mkdir()
    result = run_mkdir_script(tmp_path, "u-bob", "u-bob/data")
    assert result.returncode == 0, result.stderr
    for path in (tmp_path / "u-bob", tmp_path / "u-bob" / "data"):
        assert path.is_dir() and (path.stat().st_mode & 0o7777) == 0o700
        assert (path.stat().st_uid, path.stat().st_gid) == (os.getuid(), os.getgid())


def test_mkdir_script_leaves_existing_directories_as_they_are(tmp_path):
    existing = tmp_path / "ada"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    (existing / "notes.txt").write_text("kept")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    result = run_mkdir_script(tmp_path, "ada", "link")
    assert result.returncode == 0, result.stderr
    assert (existing.stat().st_mode & 0o7777) == 0o755
    assert (existing / "notes.txt").read_text() == "kept"
    assert not (tmp_path / "nowhere").exists()


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
    from gmap_hub.spawner import HideShareCredentials

    assert sum(isinstance(f, HideShareCredentials) for f in spawner.log.filters) == 1
