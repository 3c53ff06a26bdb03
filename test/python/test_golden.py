"""The settings and secrets each example stack file gives the hub (test/fixtures/settings/<stack>.json,
written by `npm run contract` and checked against the program by a unit test), loaded through
JupyterHub's real config loader: a change on either side of the contract fails here or there."""

import json
import shutil

import pytest
from conftest import ROOT
from dockerspawner import DockerSpawner
from gmap_hub.configure.spawner import SPAWNER_TRAITS
from jupyterhub.spawner import Spawner

GOLDEN = sorted((ROOT / "test" / "fixtures" / "settings").glob("*.json"))


def golden(path, tmp_path):
    data = json.loads(path.read_text())
    settings, secrets = data["settings"], data["secrets"]
    settings["hub"]["dataDir"] = str(tmp_path / "data")
    (tmp_path / "data").mkdir()
    # the hook files as the hub container gets them
    for where, source in data["hookSources"].items():
        copy = tmp_path / "hooks" / where.rsplit("/", 1)[1]
        copy.parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / source, copy)
        for key, value in settings["hooks"].items():
            if value == where:
                settings["hooks"][key] = str(copy)
    return settings, secrets


def test_every_example_stack_has_golden_settings():
    assert {p.stem for p in GOLDEN} == {p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml")}


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_the_hub_starts_from_each_example_stack(path, hub, tmp_path):
    settings, secrets = golden(path, tmp_path)
    settings["culler"]["enabled"] = False  # nothing to cull, no service process to start
    if "database" in settings["hub"]:
        db = settings["hub"]["database"]
        url = f"postgresql+psycopg2://{db['user']}:{secrets['databasePassword']}@{db['host']}:{db['port']}/{db['name']}"
        assert hub(settings, secrets).db_url == url
        # the rest starts on SQLite here (the PostgreSQL server itself: test/e2e/16-postgres.test.ts)
        del settings["hub"]["database"]
    app = hub(settings, secrets, initialize=True)
    providers = settings["auth"]["providers"]
    expected = (
        "GmapMultiAuthenticator"
        if len(providers) > 1
        else {
            "native": "GmapNativeAuthenticator",
            "github": "GitHubOAuthenticator",
            "gitlab": "GmapGitLabOAuthenticator",
        }[providers[0]]
    )
    assert type(app.authenticator).__name__ == expected
    images = {i["name"]: i["image"] for i in settings["spawner"]["images"]}
    assert app.config.DockerSpawner.image == images[settings["spawner"]["defaultImage"]]
    # each server on its own network, shared with the hub and the proxy only
    assert app.config.GmapDockerSpawner.network_name_template == settings["spawner"]["networkTemplate"]
    assert app.config.GmapDockerSpawner.hub_container == settings["hub"]["container"]
    assert app.config.GmapDockerSpawner.proxy_container == settings["hub"]["proxyContainer"]
    assert "network_name" not in app.config.DockerSpawner
    assert app.config.ConfigurableHTTPProxy.should_start is False
    assert {s.name for s in app._service_map.values()} >= {s["name"] for s in settings["services"]}
    for key, cls, trait in SPAWNER_TRAITS:
        if key in settings["spawner"]:
            assert app.config[cls][trait] == settings["spawner"][key], key


@pytest.mark.parametrize("key,cls,trait", SPAWNER_TRAITS, ids=lambda v: str(v))
def test_each_spawner_trait_row_names_a_contract_key_and_a_real_trait(key, cls, trait):
    schema = json.loads((ROOT / "hub-config" / "gmap_hub" / "settings.schema.json").read_text())
    assert key in schema["properties"]["spawner"]["properties"]
    assert trait in {"Spawner": Spawner, "DockerSpawner": DockerSpawner}[cls].class_trait_names(config=True)
