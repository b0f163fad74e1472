"""Every plot of the workflow: matplotlib with the CMS style of mplhep, PDF and PNG.

One function per plot kind; each takes numbers (not files) so tests can check what is drawn.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from innfer_lib.core.io import atomic_path  # noqa: E402

COLOURS = {"learned": "#5790fc", "truth": "#e42536", "data": "black"}
LABELS = {"learned": "learned density", "truth": "true density"}


def _style() -> None:
    import mplhep

    plt.style.use(mplhep.style.CMS)
    plt.rcParams.update({"font.size": 16, "axes.labelsize": 16, "legend.fontsize": 13})


def save(fig, outputs: Sequence[str]) -> None:
    """Write one figure to each output (PDF and PNG), atomically."""
    for path in outputs:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=str(path).rsplit(".", 1)[-1], bbox_inches="tight", dpi=120)
    plt.close(fig)


def loss_plot(history: Mapping[str, Any], outputs: Sequence[str], title: str = "") -> None:
    """Train and test loss per epoch, with the selected (best) epoch marked."""
    _style()
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.plot(history["epoch"], history["train_loss"], "o-", label="train")
    ax.plot(history["epoch"], history["test_loss"], "s-", label="test")
    ax.axvline(history["best_epoch"], color="grey", ls="--", label="best epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel("weighted negative log-likelihood per event")
    ax.set_title(title, fontsize=14)
    ax.legend()
    save(fig, outputs)


SERIES_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def _series_style(index: int, density: str, n_fits: int) -> dict[str, Any]:
    """Colour by density source, marker by fit set, so overlays stay readable."""
    colour = COLOURS.get(density) if n_fits == 1 else f"C{index}"
    return {"color": colour, "marker": SERIES_MARKERS[index % len(SERIES_MARKERS)]}


def _interval_bars(
    ax, x, y, one, two, style: Mapping[str, Any], label: str | None, horizontal: bool = False
) -> None:
    """Thin ±2σ bars (when `two` is given) under thick ±1σ bars with the series marker.

    `one` and `two` are [[down...], [up...]] distances; `horizontal` draws them along x.
    """
    key = "xerr" if horizontal else "yerr"
    if two is not None:
        ax.errorbar(
            x,
            y,
            fmt="none",
            ecolor=style["color"],
            elinewidth=1,
            capsize=3,
            alpha=0.6,
            **{key: np.asarray(two, float)},
        )
    ax.errorbar(
        x,
        y,
        fmt=style["marker"],
        color=style["color"],
        elinewidth=3,
        ms=6,
        label=label,
        **{key: np.asarray(one, float)},
    )


def _series_label(fit: str, density: str, n_fits: int, labels: Mapping[str, str]) -> str:
    base = LABELS.get(density, density)
    return base if n_fits == 1 else f"{labels.get(fit, fit)}, {base}"


def _point_label(point: Mapping[str, Any], varied: Sequence[str]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in point["truth"].items() if k in varied) or (
        f"val {point['val']}"
    )


def summary_plot(
    summary: Mapping[str, Any],
    outputs: Sequence[str],
    title: str = "",
    show_2sigma: bool = True,
    labels: Mapping[str, str] | None = None,
) -> list[Any]:
    """Best fit relative to the truth per validation point, one pad per parameter.

    Each series (fit set × density) is offset horizontally; thick bars are the ±1σ
    crossings and thin ones ±2σ, both possibly asymmetric (scans). The view per parameter
    is θ̂/θ_true (line at 1) or θ̂ − θ_true (line at 0, where a truth is 0). The legend
    carries χ²/ndf against the truth.

    Returns:
        The axes, one per parameter (for tests).
    """
    from innfer_lib.results.summary import RATIO, view_values

    _style()
    labels = labels or {}
    params = summary["parameters"]
    points = summary["points"]
    series = [(s["fit"], s["density"]) for s in summary["series"]]
    n_fits = len({f for f, _ in series})
    fig, axes = plt.subplots(
        len(params), 1, figsize=(max(8, 0.9 * len(points) + 4), 4.5 * len(params)), squeeze=False
    )
    x = np.arange(len(points))
    width = 0.5
    offsets = np.linspace(-width / 2, width / 2, len(series)) if len(series) > 1 else [0.0]
    for ax, param in zip(axes[:, 0], params, strict=True):
        view = summary["views"][param]
        for i, ((fit, density), offset) in enumerate(zip(series, offsets, strict=True)):
            xs, ys, one, two = [], [], [[], []], [[], []]
            for j, point in enumerate(points):
                entry = point["results"].get(fit, {}).get(density, {}).get(param)
                if entry is None:
                    continue
                y, c = view_values(entry, point["truth"][param], view)
                xs.append(x[j] + offset)
                ys.append(y)
                for bars, k in ((one, 1), (two, 2)):
                    bars[0].append(y - c.get(-k, np.nan))
                    bars[1].append(c.get(k, np.nan) - y)
            xs, ys = np.asarray(xs, float), np.asarray(ys, float)
            style = _series_style(i, density, n_fits)
            chi2 = summary["chi2"][fit][density][param]
            _interval_bars(
                ax,
                xs,
                ys,
                one,
                two if show_2sigma else None,
                style,
                f"{_series_label(fit, density, n_fits, labels)} "
                f"(χ²/ndf = {chi2['chi2']:.1f}/{chi2['ndf']})",
            )
        ax.axhline(1.0 if view == RATIO else 0.0, color="grey", ls="--")
        # Ratios of a 172 GeV mass sit within 1e-3 of 1: print them, not an offset of "+1".
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.set_xticks(x)
        ax.set_xticklabels(
            [_point_label(p, summary["varied"]) for p in points],
            rotation=45,
            ha="right",
            fontsize=11,
        )
        ylabel = f"{param} / truth" if view == RATIO else f"{param} − truth"
        ax.set_ylabel(ylabel)
        ax.legend(
            loc="upper left",
            fontsize=10,
            title="±1σ thick, ±2σ thin" if show_2sigma else "±1σ",
            title_fontsize=10,
        )
    axes[-1, 0].set_xlabel("validation point (truth)")
    if title:
        axes[0, 0].set_title(title, fontsize=14)
    save(fig, outputs)
    return list(axes[:, 0])


def summary_per_val_plot(
    summary: Mapping[str, Any],
    val: int,
    outputs: Sequence[str],
    parameters: Sequence[str],
    title: str = "",
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Every floating parameter at one validation point: θ̂ with ±1σ/±2σ per series.

    Unconstrained parameters (POIs, rates) get one row each on their own scale with the
    truth marked; constrained nuisances share one pad, drawn as θ̂ − θ_true in units of their
    unit prior width.

    Returns:
        {"unconstrained": [axes], "constrained": axes or None} (for tests).
    """
    _style()
    labels = labels or {}
    point = next(p for p in summary["points"] if p["val"] == val)
    series = [(s["fit"], s["density"]) for s in summary["series"]]
    n_fits = len({f for f, _ in series})

    def entry(fit: str, density: str, param: str) -> Mapping[str, Any] | None:
        return point["results"].get(fit, {}).get(density, {}).get(param)

    def is_constrained(param: str) -> bool:
        return any((e := entry(f, d, param)) is not None and e["constrained"] for f, d in series)

    free = [p for p in parameters if not is_constrained(p)]
    nuisances = [p for p in parameters if is_constrained(p)]
    heights = [1.2] * len(free) + ([0.5 * len(nuisances) + 1.0] if nuisances else [])
    fig, axes = plt.subplots(
        len(heights),
        1,
        figsize=(9, sum(heights) + 1.5),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    offsets = np.linspace(-0.25, 0.25, len(series)) if len(series) > 1 else np.zeros(1)

    def draw(ax, y, fit, density, i, param, centre_of, label):
        e = entry(fit, density, param)
        if e is None:
            return
        c = {int(k): v for k, v in e["crossings"].items()}
        centre = centre_of(e)
        style = _series_style(i, density, n_fits)
        best = e["best_fit"]
        one, two = ([[best - c.get(-k, np.nan)], [c.get(k, np.nan) - best]] for k in (1, 2))
        _interval_bars(ax, [centre], [y], one, two, style, label, horizontal=True)

    for row, param in enumerate(free):
        ax = axes[row, 0]
        for i, ((fit, density), off) in enumerate(zip(series, offsets, strict=True)):
            draw(
                ax,
                off,
                fit,
                density,
                i,
                param,
                lambda e: e["best_fit"],
                _series_label(fit, density, n_fits, labels) if row == 0 else None,
            )
        ax.axvline(
            point["truth"][param], color="grey", ls="--", label="truth" if row == 0 else None
        )
        ax.set_yticks([0.0])
        ax.set_yticklabels([param])
        ax.set_ylim(-0.6, 0.6)
        ax.set_xlabel(param, fontsize=12)
    constrained_ax = None
    if nuisances:
        constrained_ax = axes[-1, 0]
        for k, param in enumerate(nuisances):
            for i, ((fit, density), off) in enumerate(zip(series, offsets, strict=True)):
                draw(
                    constrained_ax,
                    k + off,
                    fit,
                    density,
                    i,
                    param,
                    lambda e: e["best_fit"] - e["truth"],
                    _series_label(fit, density, n_fits, labels) if k == 0 and not free else None,
                )
        constrained_ax.axvline(0.0, color="grey", ls="--")
        constrained_ax.axvspan(-1.0, 1.0, color="grey", alpha=0.1)
        constrained_ax.set_yticks(range(len(nuisances)))
        constrained_ax.set_yticklabels(nuisances, fontsize=11)
        constrained_ax.set_xlabel("constrained nuisance: θ̂ − θ_true (prior σ = 1)", fontsize=12)
    handles, names = axes[0, 0].get_legend_handles_labels()
    if handles:
        axes[0, 0].legend(
            handles, names, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2, fontsize=10
        )
    fig.suptitle(
        title or f"validation point {val}: {_point_label(point, summary['varied'])}",
        fontsize=13,
        y=1.0 + 0.02 * len(series),
    )
    fig.tight_layout()
    save(fig, outputs)
    return {"unconstrained": [axes[r, 0] for r in range(len(free))], "constrained": constrained_ax}


def density_plot(
    panels: Sequence[Mapping[str, Any]], outputs: Sequence[str], title: str = ""
) -> None:
    """Validation events (weighted histogram) against the densities scaled to the yield.

    Each panel: {variable, edges, counts, errors, curves: {density: (x, y)} and/or
    hists: {density: counts}}; y values are events per bin.
    """
    _style()
    fig, axes = plt.subplots(
        2,
        len(panels),
        figsize=(7 * len(panels), 7),
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 1]},
        sharex="col",
    )
    for i, panel in enumerate(panels):
        ax, rax = axes[0, i], axes[1, i]
        edges = np.asarray(panel["edges"])
        centres = 0.5 * (edges[1:] + edges[:-1])
        counts = np.asarray(panel["counts"])
        errors = np.asarray(panel["errors"])
        ax.errorbar(
            centres, counts, yerr=errors, fmt="o", color="black", ms=4, label="validation events"
        )
        for density, (cx, cy) in panel.get("curves", {}).items():
            ax.plot(cx, cy, color=COLOURS.get(density), lw=2, label=LABELS.get(density, density))
        for density, hist in panel.get("hists", {}).items():
            ax.stairs(
                hist,
                edges,
                color=COLOURS.get(density),
                lw=2,
                label=f"{LABELS.get(density, density)} (samples)",
            )
        for density, pred in panel.get("binned", {}).items():
            pred = np.asarray(pred)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(pred > 0, counts / pred, np.nan)
                rerr = np.where(pred > 0, errors / pred, np.nan)
            rax.errorbar(
                centres,
                ratio,
                yerr=rerr,
                fmt="o",
                ms=3,
                color=COLOURS.get(density),
                label=LABELS.get(density, density),
            )
        rax.axhline(1.0, color="grey", ls="--")
        rax.set_ylim(0.8, 1.2)
        rax.set_ylabel("events / density", fontsize=12)
        rax.set_xlabel(panel["variable"])
        ax.set_ylabel("events per bin")
        ax.legend(fontsize=11)
    if title:
        axes[0, 0].set_title(title, fontsize=13)
    save(fig, outputs)
