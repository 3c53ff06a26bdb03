"""What the spawner logs and shows of logs: share credentials hidden, control characters and colours
taken out of the output users see."""

from __future__ import annotations

import logging
import re

#: Terminal colour and cursor sequences, and the control characters left after them.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class HideShareCredentials(logging.Filter):
    """Hides the credentials of network-share mount options (``password=...``) in log records:
    DockerSpawner logs each container's host config, mounts and their driver options included, at
    DEBUG."""

    _credential = re.compile(r"((?:password|pass|credentials)=)[^,'\"\s}]*", re.IGNORECASE)

    @classmethod
    def hide(cls, text: str) -> str:
        return cls._credential.sub(r"\1[hidden]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = self.hide(message)
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


def hide_share_credentials(log: logging.Logger) -> None:
    """Puts the filter on ``log`` once (every spawner shares the hub's logger)."""
    if not any(isinstance(f, HideShareCredentials) for f in log.filters):
        log.addFilter(HideShareCredentials())
