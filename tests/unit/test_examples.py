"""Tests of the generated example analyses (innfer_lib.data.examples) and their configs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import uproot
import yaml

from innfer_lib.data import examples as ex

REPO = Path(__file__).resolve().parents[2]
EVENTS = 2000
TTBAR_COLUMNS = ["mtop", "m_jet_nom", "pt_nom", "nb", "gen_wt", "wt_isr_up", "wt_isr_down"]
WJETS_COLUMNS = ["m_jet_nom", "pt_nom", "nb", "gen_wt", "wt_isr_up", "wt_isr_down"]
DATA_COLUMNS = ["m_jet_nom", "pt_nom", "nb"]


def output_paths(directory: Path, name: str = "top_mass") -> dict[str, str]:
    example = ex.EXAMPLES[name]
    return {s: str(directory / example.file(s).file_name) for s in ex.example_outputs(name)}


def generate(directory: Path, events: int = EVENTS, seed: int = 1) -> dict[str, str]:
    outputs = output_paths(directory)
    ex.simulate_example("top_mass", outputs, events, seed)
    return outputs


def read_root(path: str) -> pd.DataFrame:
    with uproot.open(path) as file:
        return file["Events"].arrays(library="pd")


def digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict[str, pd.DataFrame]:
    outputs = generate(tmp_path_factory.mktemp("top_mass"))
    return {
        "ttbar": pd.read_parquet(outputs["ttbar"]),
        "wjets": read_root(outputs["wjets"]),
        "data": pd.read_parquet(outputs["data"]),
    }


def test_registry_and_outputs():
    assert list(ex.EXAMPLES) == ["top_mass"]
    assert ex.example_outputs("top_mass") == ["ttbar", "wjets", "data"]
    example = ex.EXAMPLES["top_mass"]
    names = [example.file(s).file_name for s in example.stems()]
    assert names == ["ttbar.parquet", "wjets.root", "data.parquet"]
    assert (REPO / example.analysis_config).is_file()
    with pytest.raises(ValueError, match="top_mass"):
        ex.example_outputs("nope")
    with pytest.raises(ValueError, match="ttbar"):
        example.file("nope")


def test_columns_and_dtypes(sample):
    assert list(sample["ttbar"].columns) == TTBAR_COLUMNS
    assert list(sample["wjets"].columns) == WJETS_COLUMNS
    assert list(sample["data"].columns) == DATA_COLUMNS
    for frame in sample.values():
        assert all(dtype == np.float64 for dtype in frame.dtypes)
        assert np.isfinite(frame.to_numpy()).all()


def test_ttbar_mass_points_and_weights(sample):
    tt = sample["ttbar"]
    assert len(tt) == EVENTS * len(ex.TOP_MASSES)
    counts = tt["mtop"].value_counts()
    assert sorted(counts.index) == list(ex.TOP_MASSES)
    assert (counts == EVENTS).all()
    # The expected yield is that of the analysis threshold, pt_nom > 400 GeV.
    selected = tt[tt["pt_nom"] > 400.0]
    sums = selected.groupby("mtop")["gen_wt"].sum()
    assert sorted(sums.index) == list(ex.TOP_MASSES)
    for mtop, total in sums.items():
        assert total == pytest.approx(2000.0 * (1.0 + 0.01 * (172.5 - mtop)), rel=1e-12)
    # Exactly round(2 %) negative weights per mass point (of all its generated events), all of
    # one magnitude per point.
    negative = (tt["gen_wt"] < 0).groupby(tt["mtop"]).sum()
    assert (negative == round(0.02 * EVENTS)).all()
    assert tt.groupby("mtop")["gen_wt"].apply(lambda w: np.unique(np.abs(w)).size).max() == 1
    # Mass points are interleaved, not stored in blocks.
    assert tt["mtop"].iloc[: EVENTS // 10].nunique() == len(ex.TOP_MASSES)


def test_ttbar_physics(sample):
    tt = sample["ttbar"]
    # Simulated from 370 GeV, so that jes in [-3, 3] (1 %/sigma) moves events across the
    # 400 GeV threshold in both directions; above it the spectrum is the data's (memoryless).
    assert ex.PT_GEN_MIN == 370.0 and ex.PT_GEN_MIN < ex.PT_MIN / 1.03
    assert (tt["pt_nom"] > ex.PT_GEN_MIN).all()
    assert tt["pt_nom"].min() < ex.PT_MIN / 1.03
    assert (tt["pt_nom"] < 400.0).mean() == pytest.approx(1.0 - np.exp(-30.0 / 150.0), abs=0.02)
    assert tt["pt_nom"].mean() == pytest.approx(520.0, rel=0.05)
    assert tt.loc[tt["pt_nom"] > 400.0, "pt_nom"].mean() == pytest.approx(550.0, rel=0.05)
    assert set(np.unique(tt["nb"])) == {1.0, 2.0}
    assert (tt["nb"] == 2).mean() == pytest.approx(0.45, abs=0.02)
    # The jet-mass peak follows the generated mass.
    peak = tt[tt["m_jet_nom"] > 0.9 * tt["mtop"]].groupby("mtop")["m_jet_nom"].median()
    assert np.all(np.diff(peak.to_numpy()) > 0)
    assert peak[172.5] == pytest.approx(0.98 * 172.5, rel=0.01)
    t = np.tanh((tt["pt_nom"] - 500.0) / 200.0)
    np.testing.assert_allclose(tt["wt_isr_up"], 1.0 + 0.10 * t)
    np.testing.assert_allclose(tt["wt_isr_down"], 1.0 - 0.08 * t)


def test_wjets(sample):
    w = sample["wjets"]
    assert len(w) == 2 * EVENTS
    assert (w["gen_wt"] > 0).all()
    # The expected yield is that of the analysis threshold, pt_nom > 400 GeV.
    assert w.loc[w["pt_nom"] > 400.0, "gen_wt"].sum() == pytest.approx(3000.0, rel=1e-12)
    assert (w["pt_nom"] > ex.PT_GEN_MIN).all() and (w["m_jet_nom"] > 100.0).all()
    assert w["pt_nom"].min() < ex.PT_MIN / 1.03
    assert (w["pt_nom"] < 400.0).mean() == pytest.approx(1.0 - np.exp(-30.0 / 110.0), abs=0.02)
    assert w.loc[w["pt_nom"] > 400.0, "pt_nom"].mean() == pytest.approx(510.0, rel=0.05)
    assert (w["nb"] == 2).mean() == pytest.approx(0.15, abs=0.02)
    t = np.tanh((w["pt_nom"] - 500.0) / 200.0)
    np.testing.assert_allclose(w["wt_isr_up"], 1.0 + 0.05 * t)
    np.testing.assert_allclose(w["wt_isr_down"], 1.0 - 0.04 * t)


def test_root_file_layout(tmp_path):
    outputs = generate(tmp_path, events=50)
    with uproot.open(outputs["wjets"]) as file:
        assert [k.split(";")[0] for k in file.keys()] == ["Events"]
        tree = file["Events"]
        assert tree.num_entries == 100
        assert sorted(tree.keys()) == sorted(WJETS_COLUMNS)
        # A cut as LoadData passes it to uproot for the analysis `selection`.
        pt = tree.arrays(["pt_nom"], library="np")["pt_nom"]
        cut = tree.arrays(["pt_nom"], cut="pt_nom > 400", library="np")["pt_nom"]
        assert len(cut) == (pt > 400).sum() < 100


def test_data(sample):
    data = sample["data"]
    expected = 2000.0 * 1.003 + 3000.0
    assert abs(len(data) - expected) < 5 * np.sqrt(expected)
    # Shuffled: both halves of the file hold the same ttbar / W+jets mixture.
    first, second = data.iloc[: len(data) // 2], data.iloc[len(data) // 2 :]
    assert abs(first["m_jet_nom"].mean() - second["m_jet_nom"].mean()) < 5.0
    assert abs((first["nb"] == 2).mean() - (second["nb"] == 2).mean()) < 0.05
    assert (data["pt_nom"] > 400.0).all()
    truth = ex.EXAMPLES["top_mass"].true_parameters
    assert truth["mtop"] == 172.2 and truth["mu_ttbar"] == pytest.approx(1.003)


def test_reproducible(tmp_path):
    a = generate(tmp_path / "a", events=200, seed=7)
    b = generate(tmp_path / "b", events=200, seed=7)
    c = generate(tmp_path / "c", events=200, seed=8)
    for stem in ex.example_outputs("top_mass"):
        if stem == "wjets":
            # ROOT files embed a creation time and UUID: compare the contents instead.
            pd.testing.assert_frame_equal(read_root(a[stem]), read_root(b[stem]))
            assert not read_root(a[stem]).equals(read_root(c[stem]))
        else:
            assert digest(a[stem]) == digest(b[stem])
            assert not pd.read_parquet(a[stem]).equals(pd.read_parquet(c[stem]))


def test_streams_are_per_file(tmp_path):
    # The simulation size changes ttbar and W+jets, but the data stream is independent of it.
    a = generate(tmp_path / "a", events=100, seed=3)
    b = generate(tmp_path / "b", events=300, seed=3)
    pd.testing.assert_frame_equal(pd.read_parquet(a["data"]), pd.read_parquet(b["data"]))


def test_too_few_events_is_a_clear_error(tmp_path):
    # One event per mass point: with this seed one of them is below the 400 GeV threshold, so
    # its weight cannot be scaled to the yield there; nothing is written.
    outputs = output_paths(tmp_path)
    with pytest.raises(ValueError, match=r"ttbar at mtop = [0-9.]+.*increase `events`"):
        ex.simulate_example("top_mass", outputs, 1, 0)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path):
    outputs = output_paths(tmp_path)
    with pytest.raises(ValueError, match="missing"):
        ex.simulate_example("top_mass", {"ttbar": outputs["ttbar"]}, 10, 1)
    with pytest.raises(ValueError, match="unknown"):
        ex.simulate_example("top_mass", {**outputs, "zz": str(tmp_path / "zz.parquet")}, 10, 1)
    with pytest.raises(ValueError, match="root"):
        ex.simulate_example("top_mass", {**outputs, "wjets": str(tmp_path / "w.parquet")}, 10, 1)
    for events, seed in ((0, 1), (10, -1), (1.5, 1), (True, 1)):
        with pytest.raises(ValueError):
            ex.simulate_example("top_mass", outputs, events, seed)
    with pytest.raises(ValueError, match="top_mass"):
        ex.simulate_example("nope", outputs, 10, 1)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def boom(path, columns):
        Path(path).write_bytes(b"partial")
        raise RuntimeError("killed")

    monkeypatch.setitem(ex._WRITERS, "root", boom)
    with pytest.raises(RuntimeError, match="killed"):
        generate(tmp_path, events=20)
    # ttbar (written before) is complete; nothing of wjets (not even a temporary) remains.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ttbar.parquet"]
    assert len(pd.read_parquet(tmp_path / "ttbar.parquet")) == 20 * len(ex.TOP_MASSES)


def test_outputs_are_not_private(tmp_path):
    # Shared input areas need the umask's permissions, not mkstemp's 0600.
    umask = os.umask(0)
    os.umask(umask)
    for path in generate(tmp_path, events=20).values():
        assert Path(path).stat().st_mode & 0o777 == 0o666 & ~umask


def test_module_import_is_light():
    code = (
        "import sys; import innfer_lib.data.examples; "
        "print(','.join(m for m in ('pandas', 'uproot', 'tensorflow') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == ""


# ---------------------------------------------------------------------------------------------
# configs
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def analysis() -> dict:
    return yaml.safe_load((REPO / ex.EXAMPLES["top_mass"].analysis_config).read_text())


def test_config_paths_match_outputs(analysis):
    example = ex.EXAMPLES["top_mass"]
    stems = ex.example_outputs("top_mass")
    referenced = [p for f in analysis["files"].values() for p in f["inputs"]]
    referenced.append(analysis["data_file"])
    assert sorted(Path(p).stem for p in referenced) == sorted(stems)
    for path in referenced:
        assert Path(path).name == example.file(Path(path).stem).file_name
        # The rule writes under results/inputs/<analysis name>/.
        assert Path(path).parent == Path("results/inputs") / analysis["name"]
    assert analysis["files"]["wjets"]["tree_name"] == "Events"


def test_config_content(analysis):
    assert analysis["name"] == "Example_TopMass"
    assert analysis["variables"] == ["m_jet", "pt"]
    assert analysis["pois"] == ["mtop"]
    assert analysis["nuisances"] == ["jes", "isr", "lumi", "wjets_norm"]
    assert set(analysis["categories"]) == {"one_b", "two_b"}
    assert set(analysis["models"]) == set(analysis["files"]) == {"ttbar", "wjets"}
    loop = analysis["validation"]["loop"]
    assert loop[0] == analysis["default_values"] == {"mtop": 172.5}
    tt_masses = sorted(p["mtop"] for p in loop if "mtop" in p)
    assert tt_masses == list(ex.TOP_MASSES)
    # Every column the config reads exists in the generated files.
    sim_columns = {"ttbar": set(TTBAR_COLUMNS), "wjets": set(WJETS_COLUMNS)}
    for base, spec in analysis["files"].items():
        assert spec["weight"] in sim_columns[base]
        assert set(spec["parameters"]) <= sim_columns[base]
        isr = spec["weight_shifts"]["isr"]
        assert {isr["args"]["weight_up"], isr["args"]["weight_down"]} <= sim_columns[base]
        assert set(spec["calculate"]) == set(analysis["variables"])
    assert set(analysis["data_calculate"]) == set(analysis["variables"])
    assert set(analysis["plot_labels"]) >= {"m_jet", "pt", "mtop", "jes", "isr"}
    assert analysis["inference"]["nuisance_constraints"] == analysis["nuisances"]


def test_config_selects_on_the_shifted_pt(analysis):
    """The threshold is on the JES-shifted pt; the load-time cut only drops what never passes.

    For every jes in the trained range, an event passes the analysis threshold
    (`post_calculate_selection` after `calculate`) only if it also passes the load-time
    `selection`, and both directions of migration across 400 GeV happen in the simulation.
    """
    from innfer_lib.core.expressions import mask
    from innfer_lib.data.columns import calculate

    pt_nom = np.linspace(ex.PT_GEN_MIN, 450.0, 8001)
    frame = pd.DataFrame({"pt_nom": pt_nom, "m_jet_nom": np.full_like(pt_nom, 170.0)})
    for base, spec in analysis["files"].items():
        assert spec["post_calculate_selection"] == "pt > 400", base
        (jes_spec,) = [
            m["density_models"][0]["shifts"]["jes"]
            for m in analysis["models"].values()
            if m["density_models"][0]["file"] == base
        ]
        low, high = jes_spec["range"]
        assert (low, high) == (-3.0, 3.0)
        loaded = mask(frame, spec["selection"])
        assert not loaded.all()  # the loose cut does drop what can never pass
        for jes in np.linspace(low, high, 13):
            shifted = calculate(frame.assign(jes=jes), spec["calculate"], "calculate", None)[0]
            passed = mask(shifted, spec["post_calculate_selection"])
            assert not np.any(passed & ~loaded), (base, jes)
        up = calculate(frame.assign(jes=high), spec["calculate"], "calculate", None)[0]
        down = calculate(frame.assign(jes=low), spec["calculate"], "calculate", None)[0]
        assert np.any((pt_nom < 400.0) & (up["pt"] > 400.0))
        assert np.any((pt_nom > 400.0) & (down["pt"] < 400.0))
    # The data have jes = 0: the same threshold on pt = pt_nom.
    assert analysis["data_selection"] == "pt_nom > 400"
    assert analysis["data_calculate"]["pt"] == "pt_nom"


def test_config_models_isr_with_regressions(analysis):
    """isr leaves the flows: one regression model per process, ttbar's pooled over mtop."""
    for process, model in analysis["models"].items():
        (density,) = model["density_models"]
        assert "isr" not in density["parameters"] and "isr" not in density["shifts"]
        assert "jes" in density["parameters"]
        (regression,) = model["regression_models"]
        assert regression["parameter"] == "isr" and regression["file"] == process
        assert regression["shifts"]["isr"] == {"type": "continuous", "range": [-3.0, 3.0]}
        assert "isr" in analysis["files"][regression["file"]]["weight_shifts"]
        assert "classifier_models" not in model
    assert analysis["models"]["ttbar"]["density_models"][0]["parameters"] == ["mtop", "jes"]
    assert analysis["models"]["ttbar"]["regression_models"][0]["pool_over"] == ["mtop"]
    assert "pool_over" not in analysis["models"]["wjets"]["regression_models"][0]


def test_workflow_config():
    cfg = yaml.safe_load((REPO / "config/examples/top_mass/workflow.yaml").read_text())
    assert cfg["analysis"] == ex.EXAMPLES["top_mass"].analysis_config
    assert cfg["example"]["name"] == "top_mass"
    assert cfg["example"]["events"] > 0 and cfg["example"]["seed"] >= 0
