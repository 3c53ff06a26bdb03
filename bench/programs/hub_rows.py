"""Rows per table of the hub database, run inside the hub container with the hub's own
configuration (the database URL JupyterHub uses, SQLite or PostgreSQL); prints JSON:
{"kind": "sqlite" | "postgresql", "tables": {name: rows}, "bytes": size of the SQLite file or null}."""

import json
import os

import sqlalchemy as sa
from gmap_hub.config import DEFAULT_SECRETS, DEFAULT_SETTINGS, apply
from traitlets.config import Config

config = Config()
apply(
    config,
    settings_path=os.environ.get("GMAP_HUB_SETTINGS", DEFAULT_SETTINGS),
    secrets_path=os.environ.get("GMAP_HUB_SECRETS", DEFAULT_SECRETS),
)
url = sa.engine.make_url(config.JupyterHub.db_url)
engine = sa.create_engine(url)
try:
    with engine.connect() as connection:
        names = sorted(sa.inspect(connection).get_table_names())
        tables = {name: connection.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one() for name in names}
finally:
    engine.dispose()
size = os.path.getsize(url.database) if url.get_backend_name() == "sqlite" and url.database else None
print(json.dumps({"kind": url.get_backend_name(), "tables": tables, "bytes": size}))
