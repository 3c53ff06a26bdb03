"""The address a request really came from, for the login lockout: the one the stack's proxy saw,
never a header the client chose (docs/security.md).

Tornado (JupyterHub serves with ``xheaders=True``) takes ``X-Real-Ip``, then the last
``X-Forwarded-For`` entry, from any client, so ``request.remote_ip`` is whatever the client wrote.
Here the connection's own peer decides: a request from the proxy container (on any of its networks)
carries the client's address as the last ``X-Forwarded-For`` entry, which configurable-http-proxy
appends (or which the TLS front proxy sets, configurable-http-proxy then passing it on); any other
peer (a user server talking to the hub's port directly) is itself the client.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Container, Iterable

import docker


def peer_address(request) -> str:
    """The address of the connection's other end (the socket's peer, before any header)."""
    context = getattr(getattr(request, "connection", None), "context", None)
    address = getattr(context, "address", None)
    if isinstance(address, tuple) and address:
        return str(address[0])
    return str(getattr(request, "remote_ip", "") or "")


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def client_address(request, proxies: Container[str]) -> str:
    """The client's address: the proxy's last ``X-Forwarded-For`` entry behind the proxy, else the peer."""
    peer = peer_address(request)
    if peer and peer in proxies:
        last = (request.headers.get("X-Forwarded-For") or "").split(",")[-1].strip()
        if _valid(last):
            return last
    return peer


class ProxyAddresses:
    """The addresses of the proxy container on all its networks (it joins every user network),
    looked up through ``lookup`` again when an unknown address comes at most every ``ttl`` seconds,
    so a replaced proxy is known and a stream of strangers costs one lookup per ``ttl``."""

    def __init__(self, lookup: Callable[[], Iterable[str]], ttl: float = 30.0):
        self._lookup = lookup
        self._ttl = ttl
        self._addresses: frozenset[str] = frozenset()
        self._at = float("-inf")

    def needs_lookup(self, address: str) -> bool:
        """Whether ``address`` is unknown and the last lookup is older than ``ttl``."""
        return address not in self._addresses and time.monotonic() - self._at >= self._ttl

    def refresh(self) -> None:
        """Looks the addresses up again (blocking: run it in a thread)."""
        self._addresses = frozenset(self._lookup())
        self._at = time.monotonic()

    def __contains__(self, address: object) -> bool:
        return address in self._addresses


def container_addresses(container: str) -> Callable[[], list[str]]:
    """A lookup of a container's addresses on every network it is on (through the Docker socket)."""

    def lookup() -> list[str]:
        try:
            with docker.APIClient(version="auto") as client:
                networks = client.inspect_container(container)["NetworkSettings"]["Networks"] or {}
        except docker.errors.DockerException:
            return []
        return [n["IPAddress"] for n in networks.values() if n.get("IPAddress")]

    return lookup
