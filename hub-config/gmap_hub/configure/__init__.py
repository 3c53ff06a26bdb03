"""The sections of the hub configuration, one module each: hub and proxy (:mod:`.hub`), sign-in
(:mod:`.auth`, with one module per provider listed in :mod:`.providers`), the spawner
(:mod:`.spawner`, :mod:`.mounts`), the operator's Python hooks (:mod:`.python_hooks`), monitoring
when it is on (:mod:`.monitoring`) and the services (:mod:`.services`).
:func:`gmap_hub.config.apply` calls them in turn; docs/architecture.md describes the settings they read.
"""
