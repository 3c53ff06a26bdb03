"""GmapDockerSpawner's mounts: sources per user, volume drivers and their options, the per-user host
directories and the helper container that creates them."""

import asyncio
import os
import subprocess

import pytest
from spawner_fakes import ESCAPED, ISIS, LABELS, NETWORK_CALLS, FakeNetworks, mounts_by_target
from tornado import web


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
    from gmap_hub.spawner.mounts import MKDIR_SCRIPT

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
    from gmap_hub.spawner.mounts import MKDIR_SCRIPT

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
