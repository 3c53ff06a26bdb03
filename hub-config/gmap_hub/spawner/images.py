"""The image menu: the catalog's menu (the spawn form puts it beside the sizes, gmap_hub.spawner.sizes),
the user's choice resolved to an offered image (or refused with HTTP 400), and the catalog entry of
the image a server runs.

Image entries are the settings' ``spawner.images`` items, passed on whole: ``name`` (short name),
``displayName`` and ``image`` (reference) are read here, and a module that needs another field of an
entry reads it from ``image_entry()``.
"""

from __future__ import annotations

from html import escape
from typing import Iterable, Mapping

from tornado import web
from traitlets import Dict, HasTraits, List, Unicode

#: Name of the form field; DockerSpawner's ``options_from_form`` reads ``image`` into user_options.
FIELD = "image"


def image_options_form(images: Iterable[Mapping[str, str]], default_name: str) -> str:
    """A Bootstrap 5 select of the images, by display name, with ``default_name`` preselected; option
    values are the short names.

    JupyterHub 5 pages use Bootstrap 5. The hub's spawn page wraps this snippet in its own ``<form>``
    with the Start button and inserts it verbatim (``| safe``, not rendered as a template), so every
    operator-supplied text is HTML-escaped here.
    """
    options = []
    for entry in images:
        selected = " selected" if entry["name"] == default_name else ""
        options.append(f'    <option value="{escape(entry["name"])}" title="{escape(entry["image"])}"{selected}>{escape(entry["displayName"])}</option>')
    return "\n".join(
        [
            '<div class="mb-3">',
            '  <label for="gmap-image" class="form-label">Notebook image</label>',
            f'  <select class="form-select" id="gmap-image" name="{FIELD}" required autofocus aria-describedby="gmap-image-help">',
            *options,
            "  </select>",
            '  <div id="gmap-image-help" class="form-text">The software environment your server starts with.</div>',
            "</div>",
        ]
    )


class ImagesMixin(HasTraits):
    """The menu of ``images`` (with several images DockerSpawner's ``allowed_images``, display name ->
    image, is set too): a choice is accepted as short name, display name or image reference."""

    images = List(
        Dict(),
        config=True,
        help='Image catalog: [{"name": short name, "displayName": label, "image": reference, ...}].',
    )
    default_image_name = Unicode("", config=True, help="Short name of the image preselected in the options form.")

    def image_entry(self) -> dict | None:
        """The catalog entry of the image the server runs (``self.image``), None for another image."""
        return next((entry for entry in self.images if entry["image"] == self.image), None)

    def _offered_images(self) -> dict:
        """Every accepted spelling of a choice (display name, short name, reference) -> image."""
        allowed = self._get_allowed_images() or {}
        if allowed:
            catalog = [entry for entry in self.images if entry["image"] in allowed.values()]
        else:
            # a single image: no menu, but naming that image is harmless
            catalog = [entry for entry in self.images if entry["image"] == self.image]
        aliases = dict(allowed)
        for entry in catalog:
            for alias in (entry["image"], entry["name"], entry["displayName"]):
                aliases.setdefault(alias, entry["image"])
        for image in allowed.values():
            aliases.setdefault(image, image)
        return aliases

    async def check_allowed(self, image):
        """Resolves a requested image to an allowed image reference or raises HTTP 400."""
        if self._get_allowed_images() == "*":
            return await super().check_allowed(image)
        offered = self._offered_images()
        if not isinstance(image, str):
            raise web.HTTPError(400, "The image choice must be a string")
        if image not in offered:
            labels = [e["displayName"] for e in self.images if e["image"] in set(offered.values())]
            raise web.HTTPError(
                400,
                f"Image {image!r} is not offered on this hub. Choose one of: {', '.join(labels)}.",
            )
        return offered[image]
