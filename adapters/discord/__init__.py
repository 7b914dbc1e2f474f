"""Discord: ``settings`` (no discord.py import, for ``concord check``), ``events`` in
(``in_order``: each member's in arrival order), ``slash_commands`` and ``slash_reply``
for slash commands and their answers, ``buttons`` for questions and links, ``send`` out
under Discord's limits, and the ``adapter`` that joins them."""
