"""Figures tests measure, printed at the end of the pytest run (tests/conftest.py)."""

FIGURES: list[str] = []


def report(line: str) -> None:
    FIGURES.append(line)
