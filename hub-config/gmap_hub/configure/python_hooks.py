"""The hub's Python hooks: the post-auth hook (provider ownership, then the operator's) and the pre-spawn hook."""

from __future__ import annotations

import os

from ..hooks import load_hook
from ..ownership import ProviderOwnership
from ..settings import Section


def configure_python_hooks(c, hooks: Section, data_dir: str) -> None:
    """Sets ``Authenticator.post_auth_hook`` and, if the operator gave one, ``Spawner.pre_spawn_hook``."""
    post_auth = hooks.optional_string("postAuth")
    operator_hook = load_hook(post_auth, "post_auth_hook", hooks.key_path("postAuth"), hooks.file) if post_auth else None
    # a hub user belongs to the provider that first signed it in; the operator's hook runs after
    c.Authenticator.post_auth_hook = ProviderOwnership(os.path.join(data_dir, "user-providers.json"), then=operator_hook)
    pre_spawn = hooks.optional_string("preSpawn")
    if pre_spawn:
        c.Spawner.pre_spawn_hook = load_hook(pre_spawn, "pre_spawn_hook", hooks.key_path("preSpawn"), hooks.file)
