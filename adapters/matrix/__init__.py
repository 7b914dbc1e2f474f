"""Matrix: ``settings`` (no matrix-nio import, for ``concord check``), ``events`` in,
``rooms`` and ``direct_rooms`` for which room is which, ``delivery`` of actions through
``send`` (inert text, encryption) and ``history`` (files, taking messages back),
``adapters/command_mentions.py`` for ``!concord`` commands in text, ``undecryptable`` for messages
the bot cannot read, and the ``adapter`` that joins them."""
