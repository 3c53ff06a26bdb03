"""GmapDockerSpawner's image menu: the Bootstrap 5 form and the user's choice."""

import asyncio

import pytest
from spawner_fakes import ISIS, MINIMAL
from tornado import web


def test_several_images_offer_a_bootstrap5_form(hub, settings, secrets, make_spawner):
    spawner = make_spawner(hub(settings, secrets))
    assert spawner.image == ISIS  # the default image
    assert spawner.allowed_images == {"Minimal (Python)": MINIMAL, "ISIS & ASP <planetary>": ISIS}
    form = asyncio.run(spawner.get_options_form())
    assert 'class="form-select"' in form and 'class="form-label"' in form and 'name="image"' in form
    assert "form-control" not in form  # Bootstrap 3 markup renders unstyled in JupyterHub 5
    assert '<option value="minimal" title="quay.io/jupyter/minimal-notebook:2025-03-14">Minimal (Python)</option>' in form
    # display names are escaped; only the default is preselected
    assert '<option value="isis" title="gmap/jupyter-isis-asp:2025.1" selected>ISIS &amp; ASP &lt;planetary&gt;</option>' in form
    assert form.count("selected") == 1
    assert "gmap-size" not in form and "<script>" not in form  # no sizes: the image menu only


def test_preselection_follows_default_image(hub, settings, secrets, make_spawner):
    settings["spawner"]["defaultImage"] = "minimal"
    spawner = make_spawner(hub(settings, secrets))
    assert spawner.image == MINIMAL
    form = asyncio.run(spawner.get_options_form())
    assert '<option value="minimal" title="quay.io/jupyter/minimal-notebook:2025-03-14" selected>' in form
    assert form.count("selected") == 1


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
    assert asyncio.run(spawner.get_options_form()) == ""
    assert asyncio.run(spawner.check_allowed("minimal")) == MINIMAL
    with pytest.raises(web.HTTPError):
        asyncio.run(spawner.check_allowed(ISIS))


def test_the_entry_of_the_running_image_is_the_settings_entry_whole(hub, settings, secrets, make_spawner):
    spawner = make_spawner(hub(settings, secrets))
    assert spawner.image_entry() == settings["spawner"]["images"][1]  # the default image, every field
    spawner.image = "evil/miner:latest"
    assert spawner.image_entry() is None
