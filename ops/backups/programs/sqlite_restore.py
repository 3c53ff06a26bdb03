"""A SQLite database from stdin into place, run in a restore helper container (`python3 -c`, see
ops/backups/sqlite.ts, which appends the call of `restore` with the paths).

Writes the database on stdin next to the live file, checks its integrity, gives it the owner of the
volume's root and mode 0600, removes journal/WAL files of the old one and renames it into place.
"""

import os
import shutil
import sqlite3
import sys


def restore(final: str, tmp: str, root: str) -> None:
    """Puts the database on stdin at `final` through `tmp` (same directory), owned like `root`."""
    with open(tmp, "wb") as f:
        shutil.copyfileobj(sys.stdin.buffer, f, 1 << 20)
        f.flush()
        os.fsync(f.fileno())
    try:
        con = sqlite3.connect(tmp)
        try:
            check = con.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            con.close()
    except sqlite3.DatabaseError as e:  # damaged beyond what the check can walk
        check = str(e)
    for suffix in ("-journal", "-wal", "-shm"):
        for base in (tmp, final):
            try:
                os.remove(base + suffix)
            except FileNotFoundError:
                pass
    if check != "ok":
        os.remove(tmp)
        sys.exit("gmap-restore: the database fails SQLite's integrity check: " + check)
    st = os.stat(root)
    os.chown(tmp, st.st_uid, st.st_gid)
    os.chmod(tmp, 0o600)
    os.replace(tmp, final)
