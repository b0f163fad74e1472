"""PostFit plot: the stacked post-fit prediction against the fitted events, with a ratio."""

import subprocess
import sys

import numpy as np
import pytest

from innfer_lib.plots.postfit import postfit_plot
from tests.plot_files import assert_written, plot_outputs


def test_module_does_not_import_tensorflow():
    code = "import sys, innfer_lib.plots.postfit; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_postfit_plot(tmp_path):
    rng = np.random.default_rng(1)
    signal = (rng.normal(0.0, 1.0, 20_000), np.full(20_000, 300.0 / 20_000))
    background = (rng.uniform(-4.0, 4.0, 20_000), np.full(20_000, 700.0 / 20_000))
    observed = (np.concatenate([rng.normal(0.0, 1.0, 300), rng.uniform(-4, 4, 700)]), None)
    prefit = (signal[0], signal[1] * 0.5)
    outputs = plot_outputs(tmp_path, "postfit_x_0")
    drawn = postfit_plot(
        observed,
        {"background": background, "signal": signal},
        "x",
        "x [GeV]",
        outputs,
        prefit={"signal": prefit, "background": background},
        bins=np.linspace(-4, 4, 17),
    )
    assert_written(outputs, more_than=100)
    edges = drawn["edges"]
    np.testing.assert_allclose(drawn["observed"]["counts"], np.histogram(observed[0], edges)[0])
    np.testing.assert_allclose(drawn["observed"]["errors"], np.sqrt(drawn["observed"]["counts"]))
    total = sum(np.histogram(x, edges, weights=w)[0] for x, w in (signal, background))
    np.testing.assert_allclose(drawn["predicted_total"]["counts"], total)
    assert drawn["predicted_total"]["counts"].sum() == pytest.approx(1000.0, rel=1e-3)
    pre = (
        np.histogram(prefit[0], edges, weights=prefit[1])[0]
        + np.histogram(background[0], edges, weights=background[1])[0]
    )
    np.testing.assert_allclose(drawn["prefit_total"], pre)
    np.testing.assert_allclose(drawn["ratio"], drawn["observed"]["counts"] / total)
    assert drawn["ndf"] == 16

    bare = postfit_plot(observed, {"all": background}, "x", outputs=plot_outputs(tmp_path, "bare"))
    assert bare["prefit_total"] is None and len(bare["edges"]) == 41
