"""The ratio-panel figure: events against a prediction, over their ratio, with a χ².

INNFER's plot style 5, shared by the Generator, PlotDensity, "combined", 2-D unrolled and
PostFit plots: a main panel with the prediction (a line or a stack, each with its statistical
band) and the events as points, above a ratio panel that shows events / prediction with the
events' errors around a band 1 ± σ_prediction/prediction. `compare` computes the ratio panel's
numbers and the χ²; `RatioFigure` draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from innfer_lib.plots.draw import draw_band, draw_points
from innfer_lib.plots.histograms import chi_squared, divide
from innfer_lib.plots.save import save
from innfer_lib.plots.style import SYNTHETIC_COLOUR, fix_ticks, title_y
from innfer_lib.plots.text import no_events, plain, set_title

#: What the ratio panel shows by default.
RATIO_LABEL = "sim. / synth."


@dataclass(frozen=True)
class Ratio:
    """Events over a prediction in the same bins, and how far apart they are.

    Attributes:
        ratio: events / prediction per bin (NaN where the prediction is 0).
        errors: σ_events / prediction.
        band: σ_prediction / prediction, drawn around 1.
        chi2: `histograms.chi_squared` of events against prediction.
        ndf: The bins with a non-zero variance that entered ``chi2``.
    """

    ratio: np.ndarray
    errors: np.ndarray
    band: np.ndarray
    chi2: float
    ndf: int

    def record(self) -> dict[str, Any]:
        """The numbers under the keys the Generator-style plots return them with."""
        return {
            "ratio": self.ratio,
            "ratio_errors": self.errors,
            "synthetic_band": self.band,
            "chi2": self.chi2,
            "ndf": self.ndf,
        }


def compare(
    counts: np.ndarray, errors: np.ndarray, prediction: np.ndarray, prediction_errors: np.ndarray
) -> Ratio:
    """The ratio panel's numbers for events (counts, errors) against a prediction."""
    chi2, ndf = chi_squared(counts, errors, prediction, prediction_errors)
    return Ratio(
        ratio=divide(counts, prediction),
        errors=divide(errors, prediction),
        band=divide(prediction_errors, prediction),
        chi2=chi2,
        ndf=ndf,
    )


class RatioFigure:
    """A main panel (`main`) over a ratio panel (`ratio`) sharing the x axis.

    Draw the prediction and the events on `main` with `draw` functions, then `finish_main`,
    then `finish` (or, for a custom legend and axis text, `draw_ratio` and `save`).
    """

    def __init__(self, width: float = 9.0, height: float = 8.0):
        """Open the figure; the style must already be applied (`style.apply_style`)."""
        self.fig, (self.main, self.ratio) = plt.subplots(
            2,
            1,
            figsize=(width, height),
            sharex=True,
            gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05},
        )

    def finish_main(self, edges: np.ndarray, tops: Sequence[Any], empty: bool) -> None:
        """y range of the main panel with room for the legend, x range, "no events" if empty.

        Args:
            edges: The bin edges (the x range).
            tops: Arrays whose maxima (and negative minima) the y range must show; None skipped.
            empty: Whether there were no events at all.
        """
        if empty:
            no_events(self.main)
        values = [np.nan_to_num(np.asarray(t, dtype=float)) for t in tops if t is not None]
        high = max([0.0] + [float(v.max()) for v in values if v.size])
        low = min([0.0] + [float(v.min()) for v in values if v.size])
        self.main.set_ylim(low * 1.1 if low < 0 else 0.0, high * 1.45 if high > 0 else 1.0)
        self.main.set_xlim(edges[0], edges[-1])

    def draw_ratio(
        self, edges: np.ndarray, numbers: Ratio, ratio_range: tuple[float, float], ylabel: str
    ) -> None:
        """Event/prediction points with errors around the prediction's statistical band."""
        draw_band(self.ratio, edges, np.ones_like(numbers.band), numbers.band, SYNTHETIC_COLOUR)
        self.ratio.axhline(1.0, color="grey", ls="--", lw=1)
        draw_points(self.ratio, edges, numbers.ratio, numbers.errors, label="")
        self.ratio.set_ylim(*ratio_range)
        self.ratio.set_ylabel(ylabel, fontsize=12)

    def finish(
        self,
        edges: np.ndarray,
        numbers: Ratio,
        ratio_range: tuple[float, float],
        xlabel: str,
        title: str,
        outputs: Sequence[str],
        *,
        text: str = "",
        ratio_label: str = RATIO_LABEL,
        ylabel: str = "events per bin",
    ) -> None:
        """Common tail: corner notes (``text`` and χ²/bins), labels, legend, ratio panel, save."""
        notes = [text] if text else []
        if numbers.ndf:
            notes.append(f"$\\chi^2$/bins = {numbers.chi2:.1f}/{numbers.ndf}")
        if notes:
            self.main.text(
                0.03, 0.95, "\n".join(notes), transform=self.main.transAxes, va="top", fontsize=12
            )
        self.main.set_ylabel(ylabel)
        self.main.legend(loc="upper right", fontsize=11)
        self.draw_ratio(edges, numbers, ratio_range, ratio_label)
        self.ratio.set_xlabel(plain(xlabel))
        # Full-size panels keep the style's minor ticks; only their positions are fixed.
        fix_ticks(self.main, minor_divisions=None)
        fix_ticks(self.ratio, minor_divisions=None)
        set_title(self.main, title, y=title_y(self.main))
        self.save(outputs)

    def save(self, outputs: Sequence[str]) -> None:
        """Write the figure (`save.save`) and close it."""
        save(self.fig, outputs)
