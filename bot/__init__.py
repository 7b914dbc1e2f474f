"""Concord: a community-health chatbot core, independent of any chat platform."""

from __future__ import annotations

__version__ = "0.1.0"
