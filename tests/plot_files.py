"""Plot tests' output files: the [pdf, png] paths of one plot, and that they were written."""

from pathlib import Path


def plot_outputs(tmp_path: Path, name: str) -> list[str]:
    """The PDF and PNG paths a plot function writes ``name`` to, in the test's tmp_path."""
    return [str(tmp_path / f"{name}.pdf"), str(tmp_path / f"{name}.png")]


def assert_written(paths: list[str], more_than: int = 0) -> None:
    """Each file exists and holds more than ``more_than`` bytes."""
    for path in paths:
        with open(path, "rb") as f:
            assert len(f.read()) > more_than, path
