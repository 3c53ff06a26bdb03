"""GmapDockerSpawner: docker options, mounts per user, environment, image menu, start hook."""

import asyncio
import base64
import os
import subprocess

import pytest
from tornado import web

# DockerSpawner's escaping of "Ada.Lovelace@x": [a-z0-9] kept, everything else "-" + hex, lower-cased
ESCAPED = "-41da-2e-4covelace-40x"
LABELS = {"org.europlanet-gmap.jupyterhub.stack": "dev", "org.europlanet-gmap.jupyterhub.component": "user"}


def test_docker_options(hub, settings, secrets, make_spawner):
    app = hub(settings, secrets)
    assert app.spawner_class.__name__ == "GmapDockerSpawner"
    spawner = make_spawner(app)
    assert spawner.network_name == "gmap-dev"
    assert spawner.use_internal_ip is True
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

    settings["hooks"]["startScript"] = "#!/bin/sh\necho hello > \"$HOME/hello\"\n"
    spawner = make_spawner(hub(settings, secrets))
    spawner.args = ["--ServerApp.log_level=DEBUG"]
    with_image_cmd(spawner, ["start-notebook.py"])
    assert asyncio.run(spawner.get_command()) == [
        "sh", "-c", START_HOOK_WRAPPER, "gmap-start", "start-notebook.py", "--ServerApp.log_level=DEBUG",
    ]
    spawner.api_token = "t" * 32
    encoded = spawner.get_env()["GMAP_START_HOOK"]
    assert base64.b64decode(encoded).decode() == settings["hooks"]["startScript"]


def run_wrapper(tmp_path, script, command):
    from gmap_hub.spawner import START_HOOK_WRAPPER

    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    if script is not None:
        env["GMAP_START_HOOK"] = base64.b64encode(script.encode()).decode()
    return subprocess.run(
        ["sh", "-c", START_HOOK_WRAPPER, "gmap-start", *command],
        env=env, capture_output=True, text=True, timeout=30,
    )


def test_wrapper_runs_the_hook_then_the_server(tmp_path):
    script = '#!/bin/sh\nset -e\necho "hook ran with $GMAP_START_HOOK." > "$HOME/hook-marker"\n'
    result = run_wrapper(tmp_path, script, ["sh", "-c", 'echo "server started with $# args: $*"', "x", "a b", "c"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "server started with 2 args: a b c\n"
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
    assert "the start hook failed with exit status 3" in result.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("gmap-start-hook")]


def test_a_missing_hook_variable_fails_the_start(tmp_path):
    result = run_wrapper(tmp_path, None, ["sh", "-c", "echo server started"])
    assert result.returncode == 1
    assert "server started" not in result.stdout


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
        if method == "inspect_image":
            return {"Config": {"Cmd": ["start-notebook.py"]}}
        assert method == "create_container"
        requests.append(kwargs)
        return {"Id": "0123456789abcdef"}

    spawner.docker = fake_docker
    asyncio.run(spawner.create_object())
    (request,) = requests
    assert request["image"] == ISIS
    assert request["name"] == f"gmap-dev-user-{ESCAPED}"
    assert request["user"] == "root"
    assert request["labels"] == LABELS
    assert request["command"][:2] == ["sh", "-c"] and request["command"][3:] == ["gmap-start", "start-notebook.py"]
    assert request["environment"]["CHOWN_EXTRA"] == "/home/jovyan/work,/mnt/nfs,/mnt/scratch"
    assert "GMAP_START_HOOK" in request["environment"]
    host = request["host_config"]
    assert host["NetworkMode"] == "gmap-dev"
    assert host["AutoRemove"] is True
    assert host["Memory"] == 2 * 1024**3
    assert host["CpuQuota"] == 150000 and host["CpuPeriod"] == 100000
    assert "PortBindings" not in host  # internal IP on the network, nothing published
    mounts = {m["Target"]: m for m in host["Mounts"]}
    assert mounts["/mnt/nfs"]["VolumeOptions"]["DriverConfig"]["Options"]["device"] == f":/export/{ESCAPED}"
    assert mounts["/mnt/isis/data"]["ReadOnly"] is True
