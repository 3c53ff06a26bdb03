"""A missing or invalid settings/secrets file or key fails the hub start with a clear message."""

import json

import pytest
from gmap_hub.settings import SettingsError


def test_missing_settings_key_names_file_and_key(hub, settings, secrets, tmp_path):
    del settings["spawner"]["networkTemplate"]
    with pytest.raises(SettingsError) as e:
        hub(settings, secrets)
    assert str(e.value) == f"{tmp_path / 'settings.json'}: key spawner.networkTemplate: missing (required) (the settings contract: settings.schema.json)"


def test_missing_nested_key_in_a_list(hub, settings, secrets):
    del settings["spawner"]["images"][1]["image"]
    with pytest.raises(SettingsError, match=r"settings\.json: key spawner\.images\[1\]\.image: missing \(required\)"):
        hub(settings, secrets)


def test_missing_native_option(hub, settings, secrets):
    del settings["auth"]["native"]["secondsBeforeNextTry"]
    with pytest.raises(SettingsError, match=r"key auth\.native\.secondsBeforeNextTry: missing"):
        hub(settings, secrets)


def test_wrong_type_is_reported_with_the_value(hub, settings, secrets):
    settings["spawner"]["startTimeout"] = "soon"
    with pytest.raises(SettingsError, match=r"key spawner\.startTimeout: 'soon' is not of type 'integer'"):
        hub(settings, secrets)


def test_unknown_key_is_refused_by_the_contract(hub, settings, secrets):
    settings["spawner"]["memlimit"] = "4G"
    with pytest.raises(SettingsError, match=r"settings\.json: key spawner\.memlimit: unknown key \(the settings contract: settings\.schema\.json\)"):
        hub(settings, secrets)


def test_unknown_default_image(hub, settings, secrets):
    settings["spawner"]["defaultImage"] = "gispy"
    with pytest.raises(SettingsError, match=r"key spawner\.defaultImage: 'gispy' is not the name of an image \(minimal, isis\)"):
        hub(settings, secrets)


def test_user_network_prefix_must_split_the_pool(hub, settings, secrets):
    settings["spawner"]["networkPool"] = "10.251.0.0/24"
    settings["spawner"]["networkPrefixLength"] = 24
    with pytest.raises(SettingsError, match=r"key spawner\.networkPrefixLength: 24 does not split networkPool 10\.251\.0\.0/24 \(/24\) into subnets"):
        hub(settings, secrets)


def test_unknown_provider(hub, settings, secrets):
    settings["auth"]["providers"] = ["native", "google"]
    with pytest.raises(SettingsError, match=r"key auth\.providers\[1\]: 'google' is not one of \['native', 'github', 'gitlab', 'oidc'\]"):
        hub(settings, secrets)


def test_missing_driver_options_name_the_secrets_key(hub, settings, secrets):
    del secrets["mountDriverOptions"]["home-nfs"]
    with pytest.raises(SettingsError, match=r"secrets\.json: key mountDriverOptions\.home-nfs: missing"):
        hub(settings, secrets)


def test_missing_service_token(hub, settings, secrets):
    del secrets["serviceTokens"]["e2e"]
    with pytest.raises(SettingsError, match=r"secrets\.json: key serviceTokens\.e2e: missing"):
        hub(settings, secrets)


def test_invalid_secret_is_not_echoed(hub, settings, secrets):
    secrets["cookieSecret"] = "not-hex-but-very-secret"
    with pytest.raises(SettingsError) as e:
        hub(settings, secrets)
    assert "key cookieSecret: does not satisfy 'pattern'" in str(e.value)
    assert "very-secret" not in str(e.value)
    secrets["cookieSecret"] = 1234567
    with pytest.raises(SettingsError) as e:
        hub(settings, secrets)
    assert "1234567" not in str(e.value)


def test_missing_settings_file(hub, settings, secrets, tmp_path, monkeypatch):
    from gmap_hub.config import apply
    from traitlets.config import Config

    missing = tmp_path / "nowhere" / "settings.json"
    with pytest.raises(SettingsError, match=rf"hub settings file {missing} does not exist.*GMAP_HUB_SETTINGS"):
        apply(Config(), settings_path=str(missing), secrets_path=str(tmp_path / "secrets.json"))


def test_invalid_json(tmp_path):
    from gmap_hub.config import apply
    from traitlets.config import Config

    bad = tmp_path / "settings.json"
    bad.write_text('{"hub": {"publicUrl": }')
    with pytest.raises(SettingsError, match=r"settings\.json: not valid JSON \(line 1, column 23\)"):
        apply(Config(), settings_path=str(bad), secrets_path=str(tmp_path / "secrets.json"))


def test_top_level_must_be_an_object(tmp_path):
    from gmap_hub.config import apply
    from traitlets.config import Config

    bad = tmp_path / "settings.json"
    bad.write_text(json.dumps(["hub"]))
    with pytest.raises(SettingsError, match=r"settings\.json: top level: expected a JSON object, got a list"):
        apply(Config(), settings_path=str(bad), secrets_path=str(tmp_path / "secrets.json"))


def test_missing_data_directory(hub, settings, secrets, tmp_path):
    settings["hub"]["dataDir"] = str(tmp_path / "no-volume")
    with pytest.raises(SettingsError, match=r"key hub\.dataDir: directory .*/no-volume does not exist \(the hub-data volume is mounted there\)"):
        hub(settings, secrets)
