"""GmapDockerSpawner's start: the start hook's wrapper (run here with sh), its outcome read from the
container's log, and the wait until the server answers."""

import asyncio
import base64
import os
import subprocess

import pytest
from spawner_fakes import ISIS, FakeEngine, engine_spawner
from tornado import web


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
    from gmap_hub.spawner.startup import START_HOOK_WRAPPER

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
    from gmap_hub.spawner.startup import START_HOOK_WRAPPER

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


# -- start hook outcome -------------------------------------------------------------------------
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
