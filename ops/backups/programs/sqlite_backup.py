"""The hub's SQLite database to stdout, run in a backup helper container (`python3 -c`, see
ops/backups/sqlite.ts, which appends the call of `backup` with the paths).

Copies the database with SQLite's online backup API in one step (a consistent snapshot under a
shared lock; the hub's writes wait for it, a few milliseconds for a hub database; a copy in steps
would start over whenever the hub writes meanwhile), from the hub-data volume mounted read-only,
checks the copy's integrity and writes it to stdout. Facts about it go to stderr on a `gmap-facts:`
line. Read-only works because JupyterHub keeps SQLite in its default rollback-journal mode, where
readers take POSIX locks on the file (the same kernel for every container) and write nothing; only
a hot journal left by a crashed writer would need write access to roll it back.
"""

import json
import os
import shutil
import sqlite3
import sys


def backup(source: str, copy: str) -> None:
    """Copies the database `source` to `copy` (a scratch file), checks it and writes it to stdout."""
    if not os.path.isfile(source):
        sys.exit("gmap-backup: the hub-data volume holds no " + os.path.basename(source) + ": has the hub ever started?")
    try:
        src = sqlite3.connect("file:" + source + "?mode=ro", uri=True, timeout=60)
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
    except sqlite3.Error as e:
        hint = ""
        if "readonly" in str(e) or "read-only" in str(e):
            hint = " (a journal left by a hub that crashed mid-write needs the hub to open the database once: start it, then back up again)"
        sys.exit("gmap-backup: cannot copy the database: " + str(e) + hint)
    facts = {"integrity": dst.execute("PRAGMA integrity_check").fetchone()[0]}
    if facts["integrity"] != "ok":
        sys.exit("gmap-backup: the copy fails SQLite's integrity check: " + facts["integrity"])
    for key, query in (("schemaRevision", "SELECT version_num FROM alembic_version"), ("users", "SELECT count(*) FROM users")):
        try:
            facts[key] = dst.execute(query).fetchone()[0]
        except sqlite3.Error:
            pass
    dst.close()
    try:
        import jupyterhub

        facts["jupyterhubVersion"] = jupyterhub.__version__
    except ImportError:
        pass
    sys.stderr.write("gmap-facts: " + json.dumps(facts) + "\n")
    with open(copy, "rb") as f:
        shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)
    sys.stdout.flush()
