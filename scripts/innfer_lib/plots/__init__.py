"""Every plot of the workflow: matplotlib with mplhep's CMS style, written as PDF and PNG.

Shared pieces are public modules: `style` (the look, colours and legend names), `text` (text
on figures), `save` (atomic PDF + PNG), `histograms` (weighted histograms, bin edges, χ²),
`draw` (histogram artists), `ratio` (the main-over-ratio figure) and `stacked` (that figure
with a stack of processes as the prediction). Every other module draws one family of plots
from numbers (not files) and returns what it drew, so tests can check a figure on its Axes
without reading an image back.

Figures are drawn off-screen, also on machines without a display: the Agg backend is chosen
here, before any module of the package imports pyplot.
"""

import os

import matplotlib

os.environ.setdefault("MPLBACKEND", "Agg")
matplotlib.use("Agg")
