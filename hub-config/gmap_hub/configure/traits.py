"""Settings that map one to one onto traitlets traits, set from a table of (key, class, trait)."""

from __future__ import annotations

from ..settings import Section

#: One row per option: (settings key, configurable class, trait).
TraitTable = tuple[tuple[str, str, str], ...]


def set_traits(c, section: Section, table: TraitTable) -> None:
    """Sets each (key, class, trait) of ``table`` from ``section`` (a null value leaves it unset).

    The contract (settings.schema.json) has checked the values."""
    for key, cls, trait in table:
        value = section.raw(key, None)
        if value is not None:
            setattr(getattr(c, cls), trait, value)
