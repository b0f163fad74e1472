"""Saving plots: each file is cropped to the figure's content, no more and no less."""

import re

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from innfer_lib.plots.save import DPI, save
from tests.plot_files import assert_written, plot_outputs

WIDTH, HEIGHT = 8.0, 6.0  # inches: much larger than what is drawn on it


def _small_figure_with_far_label():
    """A small Axes and a red label far to its right, both well inside a large figure."""
    fig = plt.figure(figsize=(WIDTH, HEIGHT))
    ax = fig.add_axes((0.3, 0.3, 0.2, 0.2))
    ax.plot([0, 1], [0, 1])
    ax.set_ylabel("y")
    fig.text(0.75, 0.5, "far label", color="red", fontsize=20)
    return fig


def _pdf_page_size(path):
    with open(path, "rb") as f:
        box = re.search(rb"/MediaBox\s*\[([^\]]*)\]", f.read())
    assert box is not None, path
    x0, y0, x1, y1 = (float(v) for v in box.group(1).split())
    return x1 - x0, y1 - y0


def test_save_crops_to_content_without_clipping(tmp_path):
    fig = _small_figure_with_far_label()
    outputs = plot_outputs(tmp_path, "cropped")
    save(fig, outputs)
    assert_written(outputs)
    assert not plt.fignum_exists(fig.number)

    image = np.asarray(Image.open(outputs[1]).convert("RGB")).astype(int)
    height, width = image.shape[:2]
    # Cropped: the empty parts of the figure are not in the file.
    assert width < 0.8 * WIDTH * DPI and height < 0.6 * HEIGHT * DPI
    # Not clipped: the label far from the Axes is in the file, with a margin on every side.
    red = (image[..., 0] > 200) & (image[..., 1] < 80) & (image[..., 2] < 80)
    rows, columns = np.nonzero(red)
    assert len(rows), "the far label is missing from the PNG"
    margin = 5  # pixels; the padding is 0.1 inch = 12 pixels
    assert columns.min() > margin and columns.max() < width - 1 - margin
    assert rows.min() > margin and rows.max() < height - 1 - margin

    # The PDF has the same crop, up to a few points (its text is measured differently).
    pdf_width, pdf_height = _pdf_page_size(outputs[0])
    assert abs(pdf_width - width * 72 / DPI) < 4 and abs(pdf_height - height * 72 / DPI) < 4


def test_save_without_outputs_only_closes(tmp_path):
    fig = _small_figure_with_far_label()
    save(fig, [])
    assert not plt.fignum_exists(fig.number)
    assert not list(tmp_path.iterdir())
