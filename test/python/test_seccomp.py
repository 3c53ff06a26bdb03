"""The seccomp profile of servers whose storage has a quota (spawner/seccomp.json): Docker's
default profile in which ioctl is allowed for every request but the four that create Btrfs
subvolumes and snapshots, read as the kernel reads them (32 bits), and what the hub gives Docker."""

import json
import random

from gmap_hub.configure.spawner import SECCOMP_PROFILE

PROFILE = json.loads(SECCOMP_PROFILE.read_text())
#: _IOW(0x94, nr, 4096) of linux/btrfs.h: SNAP_CREATE 1, SUBVOL_CREATE 14, SNAP_CREATE_V2 23, SUBVOL_CREATE_V2 24
REFUSED = {0x50009401, 0x5000940E, 0x50009417, 0x50009418}


def allows(name: str, args: dict[int, int]) -> bool:
    """Whether a rule of the profile allows the call (libseccomp: any matching rule; an absent valueTwo is 0)."""
    for rule in PROFILE["syscalls"]:
        if name not in rule["names"] or rule["action"] != "SCMP_ACT_ALLOW" or rule.get("includes") or rule.get("excludes"):
            continue
        conditions = rule.get("args") or []
        assert all(c["op"] == "SCMP_CMP_MASKED_EQ" for c in conditions) or name != "ioctl"
        if all(args[c["index"]] & c["value"] == c.get("valueTwo", 0) for c in conditions):
            return True
    return False


def test_dockers_default_profile_otherwise():
    assert PROFILE["defaultAction"] == "SCMP_ACT_ERRNO"
    for name in ("read", "write", "openat", "clone", "execve", "mkdir", "fcntl"):
        assert any(name in r["names"] and r["action"] == "SCMP_ACT_ALLOW" for r in PROFILE["syscalls"]), name
    # ioctl only through the rules that leave out the four requests
    ioctl = [r for r in PROFILE["syscalls"] if "ioctl" in r["names"]]
    assert ioctl and all(r["names"] == ["ioctl"] and r.get("args") for r in ioctl)


def test_subvolume_and_snapshot_creation_are_refused_with_or_without_upper_bits():
    for request in REFUSED:
        for upper in (0, 1 << 32, 0xFFFFFFFF << 32):
            assert not allows("ioctl", {1: upper | request}), hex(upper | request)


def test_every_other_request_is_allowed():
    neighbours = {r + d for r in REFUSED for d in (-1, 1)} - REFUSED
    # terminal, file and Btrfs requests users need (FIONREAD, TIOCGWINSZ, TCGETS, FICLONE, BTRFS_IOC_SNAP_DESTROY)
    common = {0x541B, 0x5413, 0x5401, 0x40049409, 0x5000940F, 0, 0xFFFFFFFF}
    rng = random.Random(7)
    sample = {rng.getrandbits(32) for _ in range(20000)} - REFUSED
    for request in neighbours | common | sample:
        assert allows("ioctl", {1: request}), hex(request)


def test_servers_with_a_quota_get_the_profile(hub, settings, secrets, make_spawner):
    settings["spawner"]["privileges"]["noSubvolumes"] = True
    options = make_spawner(hub(settings, secrets)).extra_host_config["security_opt"]
    assert options[0] == "no-new-privileges:true"
    assert options[1].startswith("seccomp=") and json.loads(options[1].removeprefix("seccomp=")) == PROFILE


def test_servers_where_users_may_be_root_get_it_too(hub, settings, secrets, make_spawner):
    # making a subvolume needs no capability: root keeps Docker's capabilities, not the subvolumes
    settings["spawner"]["privileges"] = {"noNewPrivileges": False, "capDrop": [], "capAdd": [], "noSubvolumes": True}
    options = make_spawner(hub(settings, secrets)).extra_host_config["security_opt"]
    assert [o.split("=")[0] for o in options] == ["seccomp"]


def test_servers_without_a_quota_keep_dockers_profile(hub, settings, secrets, make_spawner):
    options = make_spawner(hub(settings, secrets)).extra_host_config["security_opt"]
    assert options == ["no-new-privileges:true"]
