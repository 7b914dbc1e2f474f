"""IRC: ``settings`` (no pydle import, for ``concord check``), ``text`` (what may go on
an IRC line), ``events`` in, ``send`` (the paced, confirmed send queue), ``delivery`` of
actions, ``client`` (the pydle connection) and the ``adapter`` that joins them."""
