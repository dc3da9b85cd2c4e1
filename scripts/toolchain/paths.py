"""Where the project's generated files go: ``build/`` beside the sources (the repository root)."""

from pathlib import Path

__all__ = ["REPO", "BUILD"]

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build"
