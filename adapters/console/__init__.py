"""The console community: the console adapter (``adapter``), a session that feeds it
line by line (``session``, for ``concord chat``) and transcripts of a session with the
answers expected (``transcript``, for ``concord chat --transcript``)."""
