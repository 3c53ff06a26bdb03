"""The JupyterHub groups the stack config owns (settings.json auth.groups).

At every hub start (every ``pulumi up`` that changes the settings replaces the hub) the owned
groups become exactly what the config says: JupyterHub's ``load_groups`` creates them and adds the
members (creating hub users that do not exist yet), then :func:`prune_groups` removes members the
config no longer lists and deletes owned groups the config no longer has. An owned group carries
the property :data:`OWNER`, so a group removed from the config is still known as the config's.

The admin page and the API cannot change an owned group (:class:`OwnedGroupsGuard`: 403 saying
where to change it); groups made there stay theirs to edit.
"""

from __future__ import annotations

from jupyterhub import orm
from jupyterhub.apihandlers.groups import GroupAPIHandler, GroupPropertiesAPIHandler, GroupUsersAPIHandler
from tornado import web

#: The property that marks a group as the stack config's.
OWNER = {"managed-by": "stack config (groups)"}

#: API handlers that change one group, named in their first path argument.
GROUP_CHANGES = (GroupAPIHandler, GroupUsersAPIHandler, GroupPropertiesAPIHandler)


def load_groups(groups: list[dict]) -> dict:
    """JupyterHub's ``load_groups`` for the config's groups: members and the owner mark."""
    return {g["name"]: {"users": list(g["members"]), "properties": dict(OWNER)} for g in groups}


def owned(group: orm.Group) -> bool:
    return all(group.properties.get(k) == v for k, v in OWNER.items())


def prune_groups(db, declared: dict, log) -> None:
    """Owned groups as ``declared`` (``load_groups`` form) and no more: extra members removed,
    groups the config dropped deleted (their users stay)."""
    for group in db.query(orm.Group).all():
        if not owned(group):
            continue
        if group.name not in declared:
            log.info("Deleting group %s: the stack config no longer has it", group.name)
            db.delete(group)
            continue
        members = set(declared[group.name]["users"])
        for user in list(group.users):
            if user.name not in members:
                log.info("Removing %s from group %s: the stack config no longer lists them", user.name, group.name)
                group.users.remove(user)
    db.commit()


def refused_change(handler, owned_groups: frozenset) -> str | None:
    """Why a request may not change the group it names (one the stack config owns), or None."""
    if handler.request.method in ("GET", "HEAD", "OPTIONS") or not isinstance(handler, GROUP_CHANGES):
        return None
    name = handler.path_args[0] if handler.path_args else None
    if name not in owned_groups:
        return None
    return f"The group {name} is kept by the stack config: change its members under groups in Pulumi.<stack>.yaml and run pulumi up."


class OwnedGroupsGuard:
    """Mixin of a hub handler: changes to a group the stack config owns are refused (403)."""

    owned_groups: frozenset = frozenset()

    async def prepare(self):
        await super().prepare()
        problem = refused_change(self, self.owned_groups)
        if problem:
            raise web.HTTPError(403, problem)
