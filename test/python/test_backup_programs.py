"""The programs the backup helper containers run with `python3 -c` (ops/backups/programs/), run here
the same way on real temporary SQLite files: the program text followed by the call of its function
(as ops/backups/programs.ts composes it)."""

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

PROGRAMS = Path(__file__).resolve().parents[2] / "ops" / "backups" / "programs"


def run(file: str, call: str, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    text = (PROGRAMS / file).read_text() + "\n" + call + "(" + ", ".join(json.dumps(a) for a in args) + ")\n"
    return subprocess.run([sys.executable, "-c", text], input=stdin, capture_output=True, check=False)


def hub_database(path: Path, users: int) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE alembic_version (version_num TEXT)")
    con.execute("INSERT INTO alembic_version VALUES ('4621fec11365')")
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    con.executemany("INSERT INTO users (name) VALUES (?)", [(f"user{i}",) for i in range(users)])
    con.commit()
    con.close()


def user_names(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [name for (name,) in con.execute("SELECT name FROM users ORDER BY id")]
    finally:
        con.close()


def test_backup_writes_a_checked_copy_and_its_facts(tmp_path: Path) -> None:
    source = tmp_path / "jupyterhub.sqlite"
    hub_database(source, users=3)
    source.chmod(0o400)  # the helper mounts the volume read-only
    out = run("sqlite_backup.py", "backup", str(source), str(tmp_path / "copy.sqlite"))
    assert out.returncode == 0, out.stderr
    (facts_line,) = [line for line in out.stderr.decode().splitlines() if line.startswith("gmap-facts: ")]
    facts = json.loads(facts_line.removeprefix("gmap-facts: "))
    assert facts["integrity"] == "ok"
    assert facts["schemaRevision"] == "4621fec11365"
    assert facts["users"] == 3
    copy = tmp_path / "from-stdout.sqlite"
    copy.write_bytes(out.stdout)
    assert user_names(copy) == ["user0", "user1", "user2"]


def test_backup_of_a_volume_without_the_database_says_so(tmp_path: Path) -> None:
    out = run("sqlite_backup.py", "backup", str(tmp_path / "jupyterhub.sqlite"), str(tmp_path / "copy.sqlite"))
    assert out.returncode == 1
    assert out.stdout == b""
    assert out.stderr.decode() == "gmap-backup: the hub-data volume holds no jupyterhub.sqlite: has the hub ever started?\n"


def test_backup_leaves_out_facts_of_tables_that_are_not_there(tmp_path: Path) -> None:
    source = tmp_path / "jupyterhub.sqlite"
    sqlite3.connect(source).close()
    out = run("sqlite_backup.py", "backup", str(source), str(tmp_path / "copy.sqlite"))
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stderr.decode().split("gmap-facts: ", 1)[1])
    assert facts["integrity"] == "ok"
    assert "schemaRevision" not in facts and "users" not in facts


def test_restore_puts_the_database_in_place_private_and_without_old_journals(tmp_path: Path) -> None:
    backup = tmp_path / "backup.sqlite"
    hub_database(backup, users=2)
    volume = tmp_path / "volume"
    volume.mkdir()
    final = volume / "jupyterhub.sqlite"
    hub_database(final, users=5)
    for suffix in ("-journal", "-wal", "-shm"):
        Path(f"{final}{suffix}").write_text("stale")
    tmp = volume / ".jupyterhub.sqlite.restoring"
    out = run("sqlite_restore.py", "restore", str(final), str(tmp), str(volume), stdin=backup.read_bytes())
    assert out.returncode == 0, out.stderr
    assert sorted(os.listdir(volume)) == ["jupyterhub.sqlite"]
    assert stat.S_IMODE(final.stat().st_mode) == 0o600
    assert (final.stat().st_uid, final.stat().st_gid) == (volume.stat().st_uid, volume.stat().st_gid)
    assert user_names(final) == ["user0", "user1"]


def test_restore_refuses_a_database_that_fails_its_integrity_check(tmp_path: Path) -> None:
    backup = tmp_path / "backup.sqlite"
    hub_database(backup, users=200)
    con = sqlite3.connect(backup)
    root_page = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'users'").fetchone()[0]
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    broken = bytearray(backup.read_bytes())
    start = (root_page - 1) * page_size
    broken[start + 8 : start + 12] = b"\xff\xff\xff\xff"  # the users table's root page points at no page
    volume = tmp_path / "volume"
    volume.mkdir()
    final = volume / "jupyterhub.sqlite"
    hub_database(final, users=1)
    out = run("sqlite_restore.py", "restore", str(final), str(volume / ".jupyterhub.sqlite.restoring"), str(volume), stdin=bytes(broken))
    assert out.returncode == 1
    assert out.stderr.decode().startswith("gmap-restore: the database fails SQLite's integrity check: ")
    assert sorted(os.listdir(volume)) == ["jupyterhub.sqlite"]
    assert user_names(final) == ["user0"]
