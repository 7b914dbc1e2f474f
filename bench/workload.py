"""The onboarding walk every benchmarked system drives: its size and its answers."""

from __future__ import annotations

WARM_MEMBERS = 200  # walked first, untimed, by a separate instance: the warm-up
STEPS = 10  # updates per member in the onboarding walk
# After the language: four walkthrough parts, the check, agreement, interests, no mentor.
ANSWERS = ("1", "1", "1", "1", "1", "1", "1 3", "2")
LANGUAGES = 6  # the language question lists six, then "another language"
