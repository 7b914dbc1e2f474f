"""Concord's language layer: locale tags, negotiation and gettext catalogs.

Submodules are imported explicitly (``bot.i18n.locales``, ``bot.i18n.catalogs``)
so importing the package stays cheap and free of Babel's data loading.
"""

from __future__ import annotations


def N_(msgid: str) -> str:
    """Marks a message id passed around as data, so ``pybabel extract -k N_`` finds it."""
    return msgid


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a plural message's ids passed around as data (``-k Nn_:1,2``)."""
    return singular, plural
