"""Warm-starting a flow's training from existing weights (`density_warm_start`)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from innfer_lib.core.errors import ModelFileError
from innfer_lib.density.weights_file import load_warm_start, save_weights, signature_differences
from tests.conftest import SMALL_FLOW


def _signature(**changes) -> str:
    return json.dumps({"n_x": 1, "n_cond": 1, "num_coupling_layers": 2, **changes}, sort_keys=True)


def test_signature_differences_name_each_key():
    diffs = signature_differences(_signature(), _signature(num_coupling_layers=4, n_x=2))
    assert diffs == [
        "n_x: 1 in the file, 2 requested",
        "num_coupling_layers: 2 in the file, 4 requested",
    ]
    assert signature_differences(_signature(), _signature()) == []
    extra = signature_differences(_signature(), _signature(spline_bins=8))
    assert extra == ["spline_bins: (absent) in the file, 8 requested"]
    assert "not json" in signature_differences("not json", _signature())[0]


def test_warm_start_file_of_another_network_is_refused(tmp_path):
    path = tmp_path / "old.npz"
    save_weights(str(path), [np.zeros(3)], _signature())
    assert len(load_warm_start(str(path), _signature(), "flow")) == 1
    with pytest.raises(ModelFileError) as err:
        load_warm_start(str(path), _signature(num_coupling_layers=3), "flow")
    message = str(err.value)
    assert str(path) in message
    assert "num_coupling_layers: 2 in the file, 3 requested" in message
    assert "density_warm_start" in message


def test_unreadable_warm_start_file_is_named(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_text("not a zip")
    with pytest.raises(ModelFileError, match=f"{path}: cannot read the flow's weights"):
        load_warm_start(str(path), _signature(), "flow")


# ------------------------------------------------------------------------ training (slow)


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.uniform(-1.0, 1.0, n)
    return pd.DataFrame({"x": y + rng.normal(size=n), "y": y, "wt": rng.uniform(0.5, 1.5, n)})


PARAMETERS = {"density": {"X_columns": ["x"], "Y_columns": ["y"]}}
TRAIN, TEST = _frame(3000, 0), _frame(800, 1)


def _architecture(**changes):
    from innfer_lib.density.train_job import prepare_architecture

    return prepare_architecture({**SMALL_FLOW, "epochs": 2, **changes}, seed=7)


def _loss(flow, frame: pd.DataFrame) -> float:
    """The weighted mean negative log-likelihood of a flow on a frame (float64 sum)."""
    x = frame[["x"]].to_numpy(np.float32)
    c = frame[["y"]].to_numpy(np.float32)
    w = frame["wt"].to_numpy(np.float64)
    nll = -np.asarray(flow.log_prob(x, c), dtype=np.float64)
    return float(np.sum(w * nll) / np.sum(w))


@pytest.mark.slow
def test_warm_started_training_starts_at_the_loaded_flows_loss(tmp_path):
    from innfer_lib.density.flow import ConditionalFlow
    from innfer_lib.density.train_job import file_digest, train_density

    arch = _architecture()
    first, _ = train_density(TRAIN, TEST, PARAMETERS, arch, progress=False)
    path = tmp_path / "first.npz"
    first.save(str(path))
    loaded = ConditionalFlow.load(str(path), 1, 1, arch)

    _, history = train_density(TRAIN, TEST, PARAMETERS, arch, progress=False, warm_start=path)
    assert history["train_loss"][0] == pytest.approx(_loss(loaded, TRAIN), rel=1e-5)
    assert history["test_loss"][0] == pytest.approx(_loss(loaded, TEST), rel=1e-5)
    assert history["warm_start"] == {
        "file": str(path),
        "sha256": file_digest(path),
        "train_loss_at_start": history["train_loss"][0],
        "test_loss_at_start": history["test_loss"][0],
    }
    # a cold start begins elsewhere: the identity flow's loss, above the trained one's
    _, cold = train_density(TRAIN, TEST, PARAMETERS, arch, progress=False)
    assert cold["train_loss"][0] > history["train_loss"][0] + 0.01
    assert "warm_start" not in cold


@pytest.mark.slow
def test_warm_start_from_another_architecture_fails_naming_what_differs(tmp_path):
    from innfer_lib.density.train_job import train_density

    first, _ = train_density(TRAIN, TEST, PARAMETERS, _architecture(epochs=0), progress=False)
    path = tmp_path / "first.npz"
    first.save(str(path))
    wider = _architecture(num_coupling_layers=3)
    with pytest.raises(ModelFileError) as err:
        train_density(TRAIN, TEST, PARAMETERS, wider, progress=False, warm_start=path)
    assert str(path) in str(err.value)
    assert re.search(r"num_coupling_layers: 2(\.0)? in the file, 3(\.0)? requested", str(err.value))
