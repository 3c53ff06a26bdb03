"""Named servers (settings.json: spawner.namedServers): JupyterHub's switch and limit, the names of a
named server's container (or service) and network, one per server, and the culler's choice."""

from gmap_hub.spawner.server_names import SERVICE_NAME_MAX, bounded
from spawner_fakes import ESCAPED, use_swarm

NAMED = {
    "limit": 2,
    "containerNameTemplate": "gmap-dev-user-{username}--{servername}",
    "networkTemplate": "gmap-dev-u-{username}--{servername}",
}


def test_off_without_the_settings(hub, settings, secrets, make_spawner):
    app = hub(settings, secrets)
    assert not app.config.JupyterHub.get("allow_named_servers")
    spawner = make_spawner(app)
    assert (spawner.object_name, spawner.network_name) == (f"gmap-dev-user-{ESCAPED}", f"gmap-dev-u-{ESCAPED}")


def test_jupyterhub_allows_them_up_to_the_limit(hub, settings, secrets):
    settings["spawner"]["namedServers"] = NAMED
    config = hub(settings, secrets).config.JupyterHub
    assert config.allow_named_servers is True
    assert config.named_server_limit_per_user == 2


def test_each_server_has_a_container_and_network_of_its_own(hub, settings, secrets, make_spawner):
    settings["spawner"]["namedServers"] = NAMED
    app = hub(settings, secrets)
    default, gis, upper, dashed = (make_spawner(app, server_name=n) for n in ("", "gis", "GIS", "a-b"))
    # the default server keeps its names: servers started before named servers were turned on stay found
    assert (default.object_name, default.network_name) == (f"gmap-dev-user-{ESCAPED}", f"gmap-dev-u-{ESCAPED}")
    assert (gis.object_name, gis.network_name) == (f"gmap-dev-user-{ESCAPED}--gis", f"gmap-dev-u-{ESCAPED}--gis")
    # escaped as user names are: case and "-" kept apart
    assert upper.object_name == f"gmap-dev-user-{ESCAPED}---47-49-53"
    assert dashed.object_name == f"gmap-dev-user-{ESCAPED}--a-2db"
    names = {s.object_name for s in (default, gis, upper, dashed)}
    assert len(names) == 4
    # a user whose name ends like another's server: "--" never occurs in an escaped name
    other = make_spawner(app, user_name="Ada.Lovelace@x-gis")
    assert other.object_name not in names


def test_swarm_service_names_fit_a_dns_label(hub, settings, secrets, make_spawner):
    from spawner_fakes import the_per_user_bind

    use_swarm(settings, secrets, the_per_user_bind(settings))
    settings["spawner"]["namedServers"] = NAMED
    app = hub(settings, secrets)
    short = make_spawner(app, user_name="ada", server_name="gis")
    assert short.object_name == "gmap-dev-user-ada--gis"
    long_a, long_b = (make_spawner(app, user_name="a" * 40, server_name="processing-" + s) for s in ("one", "two"))
    assert len(long_a.object_name) == len(long_b.object_name) == SERVICE_NAME_MAX
    assert long_a.object_name != long_b.object_name
    assert long_a.object_name.startswith("gmap-dev-user-aaaa")


def test_bounded_keeps_short_names_and_shortens_long_ones_apart():
    assert bounded("x" * 63) == "x" * 63
    assert len(bounded("x" * 64)) == 63 and bounded("x" * 64) != bounded("x" * 65)


def test_the_culler_deletes_idle_named_servers_only_when_asked(hub, settings, secrets):
    def command(remove):
        settings["culler"]["removeNamedServers"] = remove
        services = hub(settings, secrets).config.JupyterHub.services
        return next(s["command"] for s in services if s["name"] == "idle-culler")

    assert not any(a.startswith("--remove-named-servers") for a in command(False))
    # a boolean option of jupyterhub-idle-culler 2 takes its value (the bare flag stops it at its start)
    assert "--remove-named-servers=true" in command(True)


def test_every_named_server_counts_against_the_ceiling():
    from types import SimpleNamespace

    from gmap_hub.ceiling import Ceiling

    G = 2**30

    def server(user, name):
        return SimpleNamespace(
            active=True,
            pending=None,
            user=user,
            name=name,
            memory_limit_bytes=lambda: 2 * G,
            recorded_size=lambda: None,
            image_name_of=lambda ref: "minimal",
            image="img",
        )

    ada = SimpleNamespace(name="ada")
    ada.spawners = {"": server(ada, ""), "gis": server(ada, "gis")}
    users = {"ada": ada}
    # one user, two servers: the limit of 2 servers and a budget of 5G hold both
    assert Ceiling(max_servers=2).refusal(users, None, 2 * G).startswith("The hub is full: 2 servers")
    assert "4G of its 5G" in Ceiling(memory_budget="5G").refusal(users, None, 2 * G)
    assert [(r["user"], r["server"]) for r in Ceiling().usage(users)["running"]] == [("ada", ""), ("ada", "gis")]
