"""The server options form: which notebook image to start.

JupyterHub 5 pages use Bootstrap 5. The hub's spawn page wraps this snippet in its own ``<form>``
with the Start button and inserts it verbatim (``| safe``, not rendered as a template), so every
operator-supplied text is HTML-escaped here.
"""

from __future__ import annotations

from html import escape
from typing import Iterable, Mapping

#: Name of the form field; DockerSpawner's ``options_from_form`` reads ``image`` into user_options.
FIELD = "image"


def image_options_form(images: Iterable[Mapping[str, str]], default_name: str) -> str:
    """A Bootstrap 5 select of the images, by display name, with ``default_name`` preselected.

    ``images`` are ``{"name", "displayName", "image"}`` entries; option values are the short names.
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
