"""What every kind's model card shares: how figures are written, and where the card goes."""
from __future__ import annotations

from pathlib import Path


def pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def write_card(model_dir: Path, lines: list[str]) -> None:
    (model_dir / "MODEL_CARD.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {model_dir / 'MODEL_CARD.md'}")
