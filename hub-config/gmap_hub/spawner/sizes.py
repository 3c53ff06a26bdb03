"""Server sizes: the menu of image x size a user may choose from, the choice checked (a size the
user may not have, or one that does not apply to the image, is refused with HTTP 400 and a
message, never replaced), and the chosen size's limits put on the server.

Size entries are the settings' ``spawner.sizes`` items (complete: the program has filled in the
spawner's limits where a size gives none). Without sizes every server keeps the spawner's limits and
the menu offers images only.
"""

from __future__ import annotations

from html import escape

from docker.errors import APIError
from docker.types import DeviceRequest
from jupyterhub.traitlets import ByteSpecification
from tornado import web
from traitlets import Dict, HasTraits, List, Unicode, default

from .images import FIELD as IMAGE_FIELD
from .images import image_options_form

#: Name of the form field and of the user_options key of the size.
FIELD = "size"

#: Docker's answer when no device driver of the host has what a device request asks for.
NO_DEVICE_DRIVER = "could not select device driver"


def memory_bytes(value: str | None) -> int:
    """Bytes of a memory size as the settings give it ("2G"); 0 for none."""
    return ByteSpecification().validate(None, value) if value else 0


def size_options_form(sizes: list[dict], default_name: str) -> str:
    """A Bootstrap 5 select of the sizes, each option with the images it applies to (``data-images``,
    used by the form's script to offer only the sizes of the chosen image). Escaped like the image menu."""
    options = []
    for size in sizes:
        selected = " selected" if size["name"] == default_name else ""
        images = " ".join(size["images"] or [])
        options.append(f'    <option value="{escape(size["name"])}" data-images="{escape(images)}"{selected}>{escape(size["displayName"])}</option>')
    return "\n".join(
        [
            '<div class="mb-3">',
            '  <label for="gmap-size" class="form-label">Server size</label>',
            f'  <select class="form-select" id="gmap-size" name="{FIELD}" required aria-describedby="gmap-size-help">',
            *options,
            "  </select>",
            '  <div id="gmap-size-help" class="form-text">Memory, processors and devices of your server.</div>',
            "</div>",
        ]
    )


#: Offers only the sizes that apply to the chosen image (the hub checks the pair anyway).
FORM_SCRIPT = """<script>
(function () {
  var image = document.getElementById("gmap-image"), size = document.getElementById("gmap-size");
  if (!image || !size) return;
  function offer() {
    var chosen = image.value, first = null;
    Array.prototype.forEach.call(size.options, function (o) {
      var fits = !o.dataset.images || o.dataset.images.split(" ").indexOf(chosen) >= 0;
      o.disabled = !fits; o.hidden = !fits;
      if (fits && first === null) first = o;
    });
    if (size.selectedOptions[0] && size.selectedOptions[0].disabled && first) first.selected = true;
  }
  image.addEventListener("change", offer);
  offer();
})();
</script>"""


class SizesMixin(HasTraits):
    """The sizes of ``sizes`` a user may choose (by group, per image), checked and applied at start."""

    sizes = List(Dict(), config=True, help="Server sizes: the settings' spawner.sizes entries.")
    default_size_name = Unicode("", config=True, help="Size of a server nobody chose a size for.")

    #: The size the hub admitted this server with (gmap_hub.ceiling), counted while it runs.
    admitted_size: dict | None = None
    #: The size (name, memory limit in bytes) a server started with, kept in the spawner's saved
    #: state: a restarted hub counts a running server with the limits its container really has.
    started_size: tuple[str, int] | None = None

    def _group_names(self) -> set[str]:
        return {group.name for group in self.user.groups}

    def may_use(self, size: dict) -> bool:
        """True when the user is in one of the size's groups, or it has none."""
        return size["groups"] is None or bool(self._group_names() & set(size["groups"]))

    @staticmethod
    def applies_to(size: dict, image_name: str | None) -> bool:
        return size["images"] is None or image_name in size["images"]

    def my_sizes(self) -> list[dict]:
        """The sizes this user may choose."""
        return [size for size in self.sizes if self.may_use(size)]

    def size_memory(self, size: dict | None) -> int:
        """The memory limit (bytes, 0: none) a server of this size gets; without sizes the spawner's."""
        return memory_bytes(size["memLimit"]) if size is not None else int(self.mem_limit or 0)

    def size_named(self, name: str) -> dict | None:
        """The size of that name, or of that display name (both accepted in a choice)."""
        return next((size for size in self.sizes if size["name"] == name), None) or next((size for size in self.sizes if size["displayName"] == name), None)

    def image_name_of(self, reference: str | None) -> str | None:
        """The short name of an image reference of the catalog (the default image for None)."""
        reference = reference or self.image
        return next((entry["name"] for entry in self.images if entry["image"] == reference), None)

    def choose_size(self, user_options: dict, image_reference: str | None) -> dict | None:
        """The size ``user_options`` choose for the image, checked for this user: HTTP 400 with the
        reason for a size that is not offered to them or not for that image. None without sizes."""
        if not self.sizes:
            if user_options.get(FIELD) not in (None, ""):
                raise web.HTTPError(400, "This hub has no server sizes to choose from: start without a size.")
            return None
        name = user_options.get(FIELD) or self.default_size_name
        if not isinstance(name, str):
            raise web.HTTPError(400, "The size choice must be a string")
        size = self.size_named(name)
        image_name = self.image_name_of(image_reference)
        fitting = [s["displayName"] for s in self.my_sizes() if self.applies_to(s, image_name)]
        if size is None or not self.may_use(size):
            raise web.HTTPError(400, f"The size {name!r} is not offered to you on this hub. Choose one of: {', '.join(fitting) or 'none'}.")
        if not self.applies_to(size, image_name):
            raise web.HTTPError(
                400, f"The size {size['displayName']!r} is not for the image {image_name!r}. For that image choose one of: {', '.join(fitting) or 'none'}."
            )
        return size

    def recorded_size(self) -> dict | None:
        """The size this server runs with: the admitted one, else the one it started with (saved
        state), else the one its saved options name, else the default; None without sizes."""
        if self.admitted_size is not None or not self.sizes:
            return self.admitted_size
        if self.started_size is not None:
            return self.size_named(self.started_size[0]) or {"name": self.started_size[0], "displayName": self.started_size[0], "memLimit": None}
        return self._saved_size()

    def _saved_size(self) -> dict | None:
        """The size the saved options name (the default when they name none); None for one that is gone."""
        return self.size_named(self.user_options.get(FIELD) or self.default_size_name)

    def memory_limit_bytes(self) -> int:
        """The memory limit this server counts against the hub's memory budget (0: none): what it
        was admitted or started with; for a server of unknown size, the largest size's."""
        if self.admitted_size is not None:
            return self.size_memory(self.admitted_size)
        if self.started_size is not None:
            return self.started_size[1]
        if not self.sizes:
            return self.size_memory(None)
        size = self._saved_size()
        return self.size_memory(size) if size is not None else max(self.size_memory(s) for s in self.sizes)

    def get_state(self):
        state = super().get_state()
        if self.admitted_size is not None:
            state["gmap_size"] = [self.admitted_size["name"], self.size_memory(self.admitted_size)]
        return state

    def load_state(self, state):
        super().load_state(state)
        saved = state.get("gmap_size")
        if saved:
            self.started_size = (str(saved[0]), int(saved[1]))

    def clear_state(self):
        super().clear_state()
        self.started_size = None

    def saved_choice(self, saved: dict) -> dict:
        """The options of a start that gave none (JupyterHub then starts with the last ones saved),
        without a size the user may no longer have or that is gone, and without an image no longer
        offered: those take the defaults (logged), so a start without a form never fails on them."""
        options = dict(saved)
        if "image" in options and options["image"] not in self._offered_images():
            self.log.info("%s: the saved image %r is no longer offered; starting with the default", self._log_name, options.pop("image"))
        if FIELD in options:
            size = self.size_named(str(options[FIELD])) if self.sizes else None
            image = self._offered_images().get(options.get("image")) if "image" in options else None
            if size is None or not self.may_use(size) or not self.applies_to(size, self.image_name_of(image)):
                self.log.info("%s: the saved size %r is no longer open to them; starting with the default", self._log_name, options.pop(FIELD))
            else:
                options[FIELD] = size["name"]
        return options

    def apply_size(self, size: dict | None) -> None:
        """Puts a size's limits on this server (DockerSpawner's traits; in swarm mode the task's)."""
        self.admitted_size = size
        if size is None:
            return
        self.mem_limit = size["memLimit"]
        self.cpu_limit = size["cpuLimit"]
        host = dict(self.extra_host_config)
        host["pids_limit"] = size["pidsLimit"]
        host.pop("shm_size", None)
        host.pop("device_requests", None)
        if size["shmSize"]:
            host["shm_size"] = memory_bytes(size["shmSize"])
        gpus = size["gpus"]
        if gpus:
            host["device_requests"] = [
                DeviceRequest(driver=gpus["driver"], count=gpus["count"], device_ids=gpus["deviceIds"], capabilities=gpus["capabilities"])
            ]
        self.extra_host_config = host

    async def start_object(self):
        """Starts the server; a size's device request the host cannot meet fails with a clear reason."""
        try:
            return await super().start_object()
        except APIError as e:
            size = self.admitted_size
            if size is None or not size["gpus"] or NO_DEVICE_DRIVER not in str(e.explanation or e):
                raise
            # an HTTP error: its message reaches the API client and the spawn form as it is
            raise web.HTTPError(
                503,
                "%s",
                f"The size {size['displayName']!r} asks for GPUs, and this hub's Docker host has none it can give"
                f" (Docker: {e.explanation or e}). Choose a size without GPUs, or ask the hub's admins.",
            ) from None

    def sizes_form(self) -> str:
        """The size menu of this user (several sizes open to them), else nothing."""
        mine = self.my_sizes()
        return size_options_form(mine, self.default_size_name) if len(mine) > 1 else ""

    def offered_image_entries(self) -> list[dict]:
        """The catalog's images for which this user has a size (every image without sizes)."""
        offered = set(self._offered_images().values())
        entries = [e for e in self.images if e["image"] in offered]
        if not self.sizes:
            return entries
        mine = self.my_sizes()
        return [e for e in entries if any(self.applies_to(s, e["name"]) for s in mine)]

    @default("options_form")
    def _default_options_form(self):
        # built for each showing: the sizes offered depend on the user's groups of the moment
        def form(spawner) -> str:
            images = spawner.offered_image_entries() if len(spawner.images) > 1 else []
            image_menu = image_options_form(images, spawner.default_image_name) if images else ""
            size_menu = spawner.sizes_form()
            script = FORM_SCRIPT if image_menu and size_menu else ""
            return "\n".join(part for part in (image_menu, size_menu, script) if part)

        return form

    def options_from_form(self, formdata):
        """The image and the size of the spawn form (each absent when its menu is)."""
        options = {}
        for field in (IMAGE_FIELD, FIELD):
            value = (formdata.get(field) or [""])[0].strip()
            if value:
                options[field] = value
        return options

    @default("apply_user_options")
    def _default_apply_user_options(self):
        async def apply_choice(spawner, user_options):
            # checked before the start so a bad choice is reported on the form; DockerSpawner.start
            # applies the image
            image = None
            if "image" in user_options:
                image = await spawner.check_allowed(user_options["image"])
            size = spawner.choose_size(user_options, image)
            if size is not None and user_options.get(FIELD):
                # saved as the size's name (a display name would not find it after a rename of the label)
                user_options[FIELD] = size["name"]
            spawner.apply_size(size)

        return apply_choice
