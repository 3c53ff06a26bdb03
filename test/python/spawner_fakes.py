"""Shared by the spawner tests: the test settings' names, and fake Docker engines (networks, a
container's start, a Swarm) that record the spawner's calls."""

import copy
from types import SimpleNamespace

# DockerSpawner's escaping of "Ada.Lovelace@x": [a-z0-9] kept, everything else "-" + hex, lower-cased
ESCAPED = "-41da-2e-4covelace-40x"
LABELS = {"org.europlanet-gmap.jupyterhub.stack": "dev", "org.europlanet-gmap.jupyterhub.component": "user"}
NETWORK_LABELS = {"org.europlanet-gmap.jupyterhub.stack": "dev", "org.europlanet-gmap.jupyterhub.component": "user-network"}
MINIMAL = "quay.io/jupyter/minimal-notebook:2025-03-14"
ISIS = "gmap/jupyter-isis-asp:2025.1"
NETWORK = f"gmap-dev-u-{ESCAPED}"
SERVICE = f"gmap-dev-user-{ESCAPED}"
#: The egress guards' service (spawner.egress.restrict) and the node the fake's tasks run on.
GUARD, NODE = "gmap-dev-egress", "node-1"
SWARM = {"constraints": ["node.role==worker"], "imageConstraints": {"isis": ["node.labels.memory==big"]}, "egressGuard": GUARD}
NFS = {"type": "nfs", "o": "addr=10.0.0.5,ro,nfsvers=4", "device": ":/export/isis"}


NETWORK_CALLS = {
    "inspect_network",
    "create_network",
    "connect_container_to_network",
    "disconnect_container_from_network",
    "remove_network",
    "networks",
}


def _not_found(what):
    import docker

    response = SimpleNamespace(status_code=404, reason="Not Found", url="http://docker/x")
    return docker.errors.NotFound(f"{what} not found", response=response)


def _api_error(status, message):
    import docker

    response = SimpleNamespace(status_code=status, reason="Error", url="http://docker/x")
    return docker.errors.APIError(message, response=response, explanation=message)


class FakeNetworks:
    """Docker's networks as the spawner sees them: name -> {"Id", "Labels", "members": {name: aliases}}.
    Records every call in ``calls``."""

    def __init__(self, networks=None, taken=()):
        self.networks = networks if networks is not None else {}
        # subnets other (not user) networks of the host hold
        self.taken = set(taken)
        self.calls = []

    def by_id(self, net_id):
        for name, net in self.networks.items():
            if net["Id"] == net_id or name == net_id:
                return name, net
        raise _not_found(f"network {net_id}")

    async def __call__(self, method, *args, **kwargs):
        self.calls.append((method, args, kwargs))
        if method == "inspect_network":
            name, net = self.by_id(args[0])
            containers = {f"id-{m}": {"Name": m} for m in net["members"]}
            return {"Name": name, "Id": net["Id"], "Labels": net["Labels"], "Containers": containers}
        if method == "networks":
            wanted = dict(label.split("=", 1) for label in kwargs["filters"]["label"])
            return [
                {"Name": name, "IPAM": {"Config": [{"Subnet": net["Subnet"]}] if net.get("Subnet") else []}}
                for name, net in self.networks.items()
                if all(net["Labels"].get(k) == v for k, v in wanted.items())
            ]
        if method == "create_network":
            name = args[0]
            if name in self.networks:
                raise _api_error(409, f"network with name {name} already exists")
            ipam = kwargs.get("ipam")
            subnet = ipam["Config"][0]["Subnet"] if ipam else None
            if subnet in self.taken or subnet in {n.get("Subnet") for n in self.networks.values()}:
                raise _api_error(403, f"Pool overlaps with other one on this address space: {subnet}")
            self.networks[name] = {
                "Id": f"net-{len(self.networks)}",
                "Labels": dict(kwargs.get("labels") or {}),
                "members": {},
                "Subnet": subnet,
            }
            return {"Id": self.networks[name]["Id"]}
        if method == "connect_container_to_network":
            container, net_id = args
            _, net = self.by_id(net_id)
            if container in net["members"]:
                raise _api_error(403, f"endpoint with name {container} already exists in network")
            net["members"][container] = kwargs.get("aliases")
            return None
        if method == "disconnect_container_from_network":
            container, net_id = args
            _, net = self.by_id(net_id)
            if container not in net["members"]:
                raise _not_found(f"container {container}")
            del net["members"][container]
            return None
        if method == "remove_network":
            name, net = self.by_id(args[0])
            if net["members"]:
                raise _api_error(403, f"error while removing network: network {name} has active endpoints")
            del self.networks[name]
            return None
        raise AssertionError(method)


class FakeEngine:
    """The Docker calls of DockerSpawner.start (through ``spawner.docker``) and of the start hook's
    watch: each ``logs`` call returns the next of ``logs`` (the last one repeats); the container
    stops running after ``running_polls`` looks at its state once the logs are used up."""

    def __init__(self, logs, running_polls=10**6, gone=False):
        self.logs, self.running_polls, self.gone = list(logs), running_polls, gone
        self.calls, self.created = [], False
        self.networks = FakeNetworks()

    def container(self):
        running = self.running_polls > 0
        state = {"Running": running, "ExitCode": 0 if running else 3, "Error": "", "FinishedAt": "2025-01-01T00:00:00Z"}
        networks = {f"gmap-dev-u-{ESCAPED}": {"IPAddress": "172.18.0.5"}}
        return {"Id": "c0ffee0123456789", "State": state, "NetworkSettings": {"Networks": networks}}

    async def __call__(self, method, *args, **kwargs):
        import docker

        self.calls.append((method, args, kwargs))
        if method in NETWORK_CALLS:
            return await self.networks(method, *args, **kwargs)
        if method == "inspect_image":
            return {"Config": {"Cmd": ["start-notebook.py"]}}
        if method == "create_container":
            if "entrypoint" in kwargs:  # the helper that creates the user's host directories
                return {"Id": "he1per"}
            self.created = True
            return {"Id": "c0ffee0123456789"}
        if method == "wait":
            return {"StatusCode": 0}
        if method in ("start", "remove_container"):
            return None
        if method == "inspect_container":
            if len(self.logs) <= 1 and any(c[0] == "logs" for c in self.calls):
                self.running_polls -= 1
            if not self.created or (self.gone and self.running_polls <= 0):
                response = SimpleNamespace(status_code=404, reason="Not Found", url="http://docker/containers/x/json")
                raise docker.errors.NotFound("No such container", response=response)
            return self.container()
        if method == "logs":
            return (self.logs.pop(0) if len(self.logs) > 1 else self.logs[0]).encode()
        raise AssertionError(f"unexpected docker call {method}")


def engine_spawner(hub, settings, secrets, make_spawner, monkeypatch, engine, answers=lambda url: False, hook=True):
    """A spawner whose Docker calls go to ``engine`` and whose server answers when ``answers``
    (called with the URL asked) says so."""
    import docker

    if hook:
        settings["hooks"]["startScript"] = "#!/bin/sh\nexit 3\n"
    spawner = make_spawner(hub(settings, secrets))
    spawner.api_token = "s3cr3t-api-token-0123456789abcdef"
    spawner.start_check_interval = 0.01
    spawner.ready_poll_interval = 0.001
    monkeypatch.setattr(type(spawner), "_client", docker.APIClient(base_url="unix:///nonexistent.sock", version="1.43"))
    spawner.docker = engine
    asked = []

    async def fake_answers(url):
        asked.append(url)
        return answers(url)

    spawner._answers = fake_answers
    spawner.asked = asked
    return spawner


# -- a fake Swarm -------------------------------------------------------------------------------
def the_per_user_bind(settings):
    """The per-user host directory of the shared test settings (conftest), which swarm mode refuses."""
    return dict(next(m for m in settings["spawner"]["mounts"] if m["type"] == "bind" and m["perUser"]))


def use_swarm(settings, secrets, per_user_bind):
    """Swarm mode: homes on a volume plugin without options, the shared ISIS data on NFS created by
    every node, no per-user host directory."""
    settings["spawner"]["swarm"] = copy.deepcopy(SWARM)
    mounts = settings["spawner"]["mounts"]
    mounts.remove(per_user_bind)
    user, isis, _nfs = mounts
    user.update(driverOptions=True, driver="gmap-sharedfs")
    isis.update(driverOptions=True)
    secrets["mountDriverOptions"]["user"] = {}
    secrets["mountDriverOptions"]["isis"] = dict(NFS)
    return settings, secrets


class SwarmNetworks(FakeNetworks):
    """FakeNetworks whose overlay networks the manager allocates, or not (``unallocated`` subnets:
    Swarm accepts an overlapping subnet and leaves the network without address pool)."""

    def __init__(self, networks=None, unallocated=()):
        super().__init__(networks)
        self.unallocated = set(unallocated)

    async def __call__(self, method, *args, **kwargs):
        result = await super().__call__(method, *args, **kwargs)
        if method == "inspect_network":
            subnet = self.by_id(args[0])[1].get("Subnet")
            result["IPAM"] = {"Config": [] if subnet in self.unallocated else [{"Subnet": subnet}]}
        return result


def task(state, desired="running", err=None, address="10.251.7.18/28", message=None):
    status = {"State": state, "Message": message or state}
    if err:
        status["Err"] = err
    attachments = [
        {"Network": {"ID": "ingress", "Spec": {"Name": "ingress"}}, "Addresses": ["10.0.0.9/24"]},
        {"Network": {"ID": "net-0", "Spec": {"Name": NETWORK}}, "Addresses": [address]},
    ]
    return {"ID": "task-1", "ServiceID": "svc-1", "NodeID": NODE, "DesiredState": desired, "Status": status, "NetworksAttachments": attachments}


class Swarm:
    """The Docker calls of GmapSwarmSpawner: the service, its task (``tasks``: the task at each look,
    the last one repeats), its log (``logs``: the log at each read, likewise), and SwarmNetworks.
    A removed service's task stays ``lingers`` looks. ``guards``: the egress guards' tasks (by
    default one running on the tasks' node; "gone": no such service)."""

    def __init__(self, tasks, logs=("",), networks=None, lingers=0, unallocated=(), guards=None):
        self.tasks, self.logs, self.lingers = list(tasks), list(logs), lingers
        self.guards = [{"NodeID": NODE, "DesiredState": "running", "Status": {"State": "running"}}] if guards is None else guards
        self.net = SwarmNetworks(networks, unallocated)
        self.service, self.calls, self.created = None, [], []

    def current(self):
        return self.tasks.pop(0) if len(self.tasks) > 1 else self.tasks[0]

    async def __call__(self, method, *args, **kwargs):
        self.calls.append((method, args, kwargs))
        if method in NETWORK_CALLS:
            return await self.net(method, *args, **kwargs)
        if method == "inspect_image":
            return {"Config": {"Cmd": ["start-notebook.py"]}}
        if method == "create_service":
            assert kwargs["task_template"]["Networks"][0]["Target"] in self.net.networks, "the network comes first"
            self.created.append(kwargs)
            self.service = "svc-1"
            return {"ID": "svc-1"}
        if method == "inspect_service":
            if self.service is None:
                raise _not_found("service")
            return {"ID": self.service, "Spec": {"Name": SERVICE}}
        if method == "tasks":
            filters = kwargs["filters"]
            if "name" in filters:  # after the removal
                assert filters["name"] == f"{SERVICE}."
                self.lingers -= 1
                return [task("running", desired="remove"), {"ID": "other", "ServiceID": "svc-other"}] if self.lingers >= 0 else []
            if filters["service"] == GUARD:
                if self.guards == "gone":
                    raise _not_found("service")
                return [g for g in self.guards if g["NodeID"] == filters["node"] and g["DesiredState"] == filters["desired-state"]]
            assert filters["service"] == SERVICE
            t = self.current() if self.service else None
            if t is None or (filters.get("desired-state") == "running" and t["DesiredState"] != "running"):
                return []
            return [t]
        if method == "service_logs":
            assert kwargs == {"stdout": True, "stderr": True, "tail": 1000, "timestamps": True, "is_tty": False}
            return (self.logs.pop(0) if len(self.logs) > 1 else self.logs[0]).encode()
        if method == "remove_service":
            if self.service is None:
                raise _not_found("service")
            self.service = None
            return None
        raise AssertionError(f"unexpected docker call {method}")


def mounts_by_target(spawner):
    """The spawner's docker Mount kwargs by target path."""
    return {m["Target"]: m for m in spawner.mount_binds}
