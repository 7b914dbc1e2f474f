"""Telegram: ``settings`` (no python-telegram-bot import, for ``concord check``),
``events`` in, ``delivery`` of actions through ``send`` (under the flood limits),
``history`` (what the bot sent, for ``/clear``) and ``restrictions`` (newcomers held
until they agree), and the ``adapter`` that joins them."""
