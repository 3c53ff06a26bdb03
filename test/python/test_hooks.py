"""Operator hook files loaded into c.Authenticator.post_auth_hook and c.Spawner.pre_spawn_hook."""

import asyncio
import inspect
import textwrap

import pytest

POST_AUTH = """
def post_auth_hook(authenticator, handler, authentication):
    authentication.setdefault("auth_state", {})["seen_by_hook"] = True
    return authentication
"""

PRE_SPAWN_ASYNC = """
import asyncio

async def pre_spawn_hook(spawner):
    await asyncio.sleep(0)
    spawner.environment["GMAP_PRE_SPAWN_USER"] = spawner.user.name
"""


def write(tmp_path, name, text):
    path = tmp_path / "hooks" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_hooks_are_loaded_from_files(hub, settings, secrets, tmp_path, make_spawner):
    settings["hooks"]["postAuth"] = write(tmp_path, "post_auth.py", POST_AUTH)
    settings["hooks"]["preSpawn"] = write(tmp_path, "pre_spawn.py", PRE_SPAWN_ASYNC)
    app = hub(settings, secrets)

    post_auth = app.config.Authenticator.post_auth_hook
    # the operator's hook runs after the provider check (gmap_hub.ownership.ProviderOwnership)
    assert post_auth.then.__name__ == "post_auth_hook"
    auth = app.authenticator_class(add_new_table=False, config=app.config)
    assert (auth.post_auth_hook.path, auth.post_auth_hook.then) == (post_auth.path, post_auth.then), "the authenticator picks it up from the config"
    assert asyncio.run(post_auth(auth, None, {"name": "ada"})) == {"name": "ada", "auth_state": {"seen_by_hook": True}}

    spawner = make_spawner(app, "ada")
    assert inspect.iscoroutinefunction(spawner.pre_spawn_hook)
    asyncio.run(spawner.run_pre_spawn_hook())
    assert spawner.environment["GMAP_PRE_SPAWN_USER"] == "ada"
    # per-spawner copy: the configured environment is not shared between users
    assert "GMAP_PRE_SPAWN_USER" not in make_spawner(app, "bob").environment


def test_sync_pre_spawn_hook(hub, settings, secrets, tmp_path, make_spawner):
    settings["hooks"]["preSpawn"] = write(tmp_path, "pre_spawn.py", "def pre_spawn_hook(spawner):\n    spawner.environment['X'] = 'sync'\n")
    spawner = make_spawner(hub(settings, secrets))
    spawner.run_pre_spawn_hook()
    assert spawner.environment["X"] == "sync"


def test_no_hooks_configured(hub, settings, secrets):
    app = hub(settings, secrets)
    assert app.config.Authenticator.post_auth_hook.then is None, "only the provider check"
    assert "pre_spawn_hook" not in app.config.Spawner


def test_missing_hook_file_is_a_clear_error(hub, settings, secrets, tmp_path):
    from gmap_hub.settings import SettingsError

    missing = str(tmp_path / "hooks" / "pre_spawn.py")
    settings["hooks"]["preSpawn"] = missing
    with pytest.raises(SettingsError) as e:
        hub(settings, secrets)
    assert str(e.value) == f"{tmp_path / 'settings.json'}: key hooks.preSpawn: hook file {missing} does not exist in the hub container"


def test_missing_hook_function_is_a_clear_error(hub, settings, secrets, tmp_path):
    from gmap_hub.settings import SettingsError

    settings["hooks"]["postAuth"] = write(tmp_path, "post_auth.py", "def post_auth(authenticator, handler, authentication):\n    pass\n")
    with pytest.raises(SettingsError, match=r"key hooks\.postAuth: .*post_auth\.py does not define a function named post_auth_hook"):
        hub(settings, secrets)


def test_broken_hook_file_is_a_clear_error(hub, settings, secrets, tmp_path):
    from gmap_hub.settings import SettingsError

    settings["hooks"]["preSpawn"] = write(tmp_path, "pre_spawn.py", "import not_a_module_anywhere\n")
    with pytest.raises(SettingsError, match=r"key hooks\.preSpawn: importing .*pre_spawn\.py failed: ModuleNotFoundError"):
        hub(settings, secrets)
