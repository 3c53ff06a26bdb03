"""Authenticator adjustments."""

from __future__ import annotations

from nativeauthenticator import NativeAuthenticator
from traitlets import default


class MultiNativeAuthenticator(NativeAuthenticator):
    """NativeAuthenticator as one provider of MultiAuthenticator.

    JupyterHub hands its database session only to the authenticator it creates (the
    MultiAuthenticator); MultiAuthenticator 0.4 creates its providers with ``parent=self`` and
    nothing else, so NativeAuthenticator, which keeps its users in that database, would fail at
    start. This class takes the session from its parent. Configure it as ``NativeAuthenticator``.
    """

    @default("db")
    def _db_from_parent(self):
        parent = self.parent
        if parent is not None and getattr(parent, "db", None) is not None:
            return parent.db
        return self._deprecated_db_session
