"""Monitoring: the exporter of per-user measurements and the hub's dashboards."""
