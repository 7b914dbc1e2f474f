"""Long messages are split for the platforms' limits (bot.core.text.split_message):
what a member reads is every word of the text, in order, in pieces the platform takes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.text import split_message

TEXTS = st.text(alphabet=st.sampled_from(["a", "é", " ", "\n", "\t", "\r", "漢"]), max_size=60)


@given(TEXTS, st.integers(min_value=1, max_value=70))
def test_every_word_arrives_in_order_in_pieces_within_the_limit(text: str, limit: int) -> None:
    pieces = split_message(text, limit)
    assert pieces and all(len(piece) <= limit for piece in pieces)
    # Every character but blanks, in order (a word longer than a piece is cut in two).
    assert "".join("".join(pieces).split()) == "".join(text.split())


@given(TEXTS, st.integers(min_value=1, max_value=70))
def test_a_text_that_fits_goes_as_it_was_written(text: str, limit: int) -> None:
    """Except empty lines before its first words, and a text of blanks only, which no
    platform shows (sent as an empty piece)."""
    if len(text) > limit:
        return
    pieces = split_message(text, limit)
    if not text.strip():
        assert pieces == [""]
    else:
        assert pieces == [text.lstrip("\n")]


def test_a_long_section_is_cut_between_lines() -> None:
    lines = [f"line {n} of the code of conduct" for n in range(300)]
    pieces = split_message("\n".join(lines), 4096)
    assert len(pieces) == 3 and all(len(p) <= 4096 for p in pieces)
    assert [line for piece in pieces for line in piece.split("\n")] == lines
