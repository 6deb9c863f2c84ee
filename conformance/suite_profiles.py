"""Suite profiles: how many examples each property draws. Kept free of heavy imports so the
command line can offer them before pytest (and Hypothesis) start."""

from __future__ import annotations

PROFILES: dict[str, int] = {"dev": 25, "ci": 100, "thorough": 1000}
