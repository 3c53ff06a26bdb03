"""GmapSwarmSpawner's configuration (settings' spawner.swarm): the class, the placement constraints,
the volumes' drivers and options, no per-user host directories."""

import asyncio
import logging

import pytest
from gmap_hub.settings import SettingsError
from spawner_fakes import ESCAPED, LABELS, NETWORK, NFS, SERVICE, mounts_by_target, the_per_user_bind, use_swarm


@pytest.fixture
def per_user_bind(settings):
    return the_per_user_bind(settings)


@pytest.fixture
def swarm_settings(settings, secrets, per_user_bind):
    return use_swarm(settings, secrets, per_user_bind)


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
    from gmap_hub.spawner import GmapDockerSpawner
    from gmap_hub.spawner.logs import HideShareCredentials

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
