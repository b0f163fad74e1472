"""LoadData, DataCategories, ResampleValidationForData and the function-dict config entries."""

import copy

import numpy as np
import pandas as pd
import pytest
import uproot

from innfer_lib.core.analysis import Analysis, load_analysis
from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.data.asym_log_normal import one_weight_variation, two_weight_variation
from innfer_lib.data.benchmarks import get_benchmark
from innfer_lib.data.data_events import (
    load_data_events,
    pull_width_warning,
    resample_for_data,
    resampling_pull_width,
)
from innfer_lib.data.functions import apply_function, function_columns
from innfer_lib.data.loading import check_weight_shifts_modelled, load_file, required_columns
from innfer_lib.data.tables import read_table
from innfer_lib.data.yields import lnn_factor

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def events(n, seed, y=172.5):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "X1": rng.normal(y, 1.7, n),
            "Y1": np.full(n, y),
            "wt": rng.uniform(0.5, 1.5, n),
            "junk": rng.normal(size=n),
        }
    )


def write_parquet(path, frame):
    frame.to_parquet(path)
    return str(path)


def write_root(path, frame, tree="tree"):
    with uproot.recreate(path) as handle:
        handle[tree] = {c: frame[c].to_numpy() for c in frame.columns}
    return str(path)


def raw_config(tmp_path, inputs, **file_spec):
    raw = copy.deepcopy(get_benchmark("Dim1Gaussian").analysis_config(str(tmp_path)))
    raw["files"]["base"]["inputs"] = [str(p) for p in inputs]
    raw["files"]["base"].update(file_spec)
    return raw


def analysis(tmp_path, inputs, **file_spec):
    return load_analysis(raw_config(tmp_path, inputs, **file_spec))


@pytest.fixture
def two_inputs(tmp_path):
    a = write_parquet(tmp_path / "a.parquet", events(200, 1, y=171.0))
    b = write_parquet(tmp_path / "b.parquet", events(300, 2, y=174.0))
    return a, b


# ---------------------------------------------------------------------------------------------
# required columns
# ---------------------------------------------------------------------------------------------


def test_required_columns_of_benchmark(tmp_path):
    assert required_columns(analysis(tmp_path, ["x.parquet"]), "base") == ["Y1", "X1", "wt"]


def test_required_columns_exclude_calculated(tmp_path):
    raw = raw_config(
        tmp_path,
        ["x.parquet"],
        weight="wt * sf",
        pre_calculate={"X2": "a * 2", "X1": "X1 + 0"},
        calculate={
            "X3": {
                "type": "function",
                "file": "mod.py",
                "name": "f",
                "inputs": ["b", "Y1"],
                "outputs": ["X3"],
            }
        },
        weight_shifts={
            "sys": {
                "type": "function",
                "file": "asym_log_normal",
                "name": "one_weight_variation",
                "args": {"param": "nu", "weight": "w_up"},
                "inputs": ["w_up", "nu"],
            },
            "lin": "1 + 0.1 * nu * d",
        },
        post_calculate_selection="X3 > 0",
        add_summed_columns=[
            {"name": "S", "column": "wt", "selection": "X2 > 0"},
            {"name": "T", "column": "S * e", "selection": None},
        ],
    )
    raw["variables"] = ["X1", "X2", "X3"]
    raw["nuisances"] = ["nu"]
    raw["categories"] = {"hi": "(X1 > 170) & (c > 0) & (S > 0) & (wt > 0)"}
    # A second process on another file: its extra columns are not read from `base`.
    raw["models"]["Other"] = {"density_models": [{"file": "other"}], "yields": [{"file": "other"}]}
    raw["validation"]["files"]["Other"] = [{"file": "other"}]
    raw["files"]["other"] = {"inputs": ["y.parquet"]}
    raw["preprocess"]["save_extra_columns"] = {"Gaussian": ["extra"], "Other": ["nope"]}
    cols = required_columns(load_analysis(raw), "base")
    # X1 is read by its own pre_calculate entry; X2, X3, S, T, nu and the calculated wt are not
    # stored columns; the weight expression does read the stored wt.
    assert cols == ["Y1", "extra", "wt", "sf", "a", "X1", "b", "w_up", "d", "c", "e"]


def test_required_columns_parameter_stored_in_file(tmp_path):
    raw = raw_config(tmp_path, ["x.parquet"], parameters=[], add_columns={"run": 3})
    raw["categories"] = {"c": "(Y1 > 0) & (run == 3)"}
    # Y1 is a POI that the file does not store: PreProcess sets it, so it is never read.
    assert required_columns(load_analysis(raw), "base") == ["run", "X1", "wt"]


# ---------------------------------------------------------------------------------------------
# load_file: formats and inputs
# ---------------------------------------------------------------------------------------------


def test_parquet_and_root_inputs(tmp_path):
    a_frame, b_frame = events(100, 1), events(150, 2, y=174.0)
    a = write_parquet(tmp_path / "a.parquet", a_frame)
    b = write_root(tmp_path / "b.root", b_frame.astype({"Y1": np.float32}))
    out = load_file(analysis(tmp_path, [a, b], tree_name="tree"), "base")
    assert list(out.columns) == ["Y1", "X1", "wt"]
    assert (out.dtypes == np.float64).all()
    assert len(out) == 250
    np.testing.assert_allclose(out["X1"], np.concatenate([a_frame["X1"], b_frame["X1"]]))
    np.testing.assert_allclose(out["Y1"].iloc[100:], 174.0)


def test_root_needs_tree_name(tmp_path):
    b = write_root(tmp_path / "b.root", events(10, 2))
    with pytest.raises(ConfigError, match=r"files\.base\.tree_name"):
        load_file(analysis(tmp_path, [b]), "base")


def test_root_missing_tree_and_branch(tmp_path):
    b = write_root(tmp_path / "b.root", events(10, 2).drop(columns=["X1"]))
    with pytest.raises(DataError, match=r"b\.root.*no tree 'events'"):
        load_file(analysis(tmp_path, [b], tree_name="events"), "base")
    with pytest.raises(DataError, match=r"b\.root.*missing column\(s\) 'X1' \(read by variables\)"):
        load_file(analysis(tmp_path, [b], tree_name="tree"), "base")


def test_read_table_reads_only_requested_columns(tmp_path):
    path = write_parquet(tmp_path / "a.parquet", events(20, 1))
    frame, available = read_table(path, ["wt", "X1", "absent"], None, "tree_name", "test")
    assert list(frame.columns) == ["wt", "X1"]
    assert sorted(available) == ["X1", "Y1", "junk", "wt"]


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DataError, match=r"inputs\[0\].*missing file.*nowhere\.parquet"):
        load_file(analysis(tmp_path, [tmp_path / "nowhere.parquet"]), "base")
    (tmp_path / "a.csv").write_text("X1,Y1,wt\n1,2,3\n")
    with pytest.raises(DataError, match=r"a\.csv.*unsupported format"):
        load_file(analysis(tmp_path, [tmp_path / "a.csv"]), "base")


def test_missing_column_names_file_and_columns(tmp_path):
    path = write_parquet(tmp_path / "a.parquet", events(20, 1).drop(columns=["wt"]))
    with pytest.raises(DataError) as err:
        load_file(analysis(tmp_path, [path]), "base")
    msg = str(err.value)
    assert "a.parquet" in msg and "'wt' (read by files.base.weight)" in msg and "junk" in msg


# ---------------------------------------------------------------------------------------------
# load_file: columns and selections
# ---------------------------------------------------------------------------------------------


def test_add_columns_scalar_and_per_file(tmp_path, two_inputs):
    out = load_file(
        analysis(tmp_path, two_inputs, add_columns={"year": [2022, 2023], "run": 3}), "base"
    )
    assert list(out.columns) == ["Y1", "year", "run", "X1", "wt"]
    assert (out["year"].iloc[:200] == 2022).all() and (out["year"].iloc[200:] == 2023).all()
    assert (out["run"] == 3.0).all() and out["run"].dtype == np.float64


def test_add_columns_wrong_length(tmp_path, two_inputs):
    with pytest.raises(ConfigError, match=r"files\.base\.add_columns\.year: 3 value\(s\) for 2"):
        load_file(analysis(tmp_path, two_inputs, add_columns={"year": [1, 2, 3]}), "base")


def test_selections_in_order(tmp_path, two_inputs):
    a_frame = pd.read_parquet(two_inputs[0])
    b_frame = pd.read_parquet(two_inputs[1])
    out = load_file(
        analysis(
            tmp_path,
            two_inputs,
            selection="junk > 0",
            add_columns={"idx": [0, 1]},
            post_add_column_selection="(idx == 1) | (X1 < 171)",
            per_file_selection=[None, "X1 > 174"],
        ),
        "base",
    )
    expected_a = (a_frame["junk"] > 0) & (a_frame["X1"] < 171)
    expected_b = (b_frame["junk"] > 0) & (b_frame["X1"] > 174)
    assert len(out) == expected_a.sum() + expected_b.sum()
    # junk is read for the selection only and is not kept.
    assert "junk" not in out.columns
    np.testing.assert_allclose(out["X1"].iloc[: expected_a.sum()], a_frame["X1"][expected_a])


def test_per_file_selection_length(tmp_path, two_inputs):
    with pytest.raises(ConfigError, match=r"files\.base\.per_file_selection.*2 input"):
        load_file(analysis(tmp_path, two_inputs, per_file_selection=["X1 > 0"]), "base")


def test_unknown_column_in_selection(tmp_path, two_inputs):
    with pytest.raises(DataError, match=r"files\.base\.selection.*unknown column\(s\) \['X9'\]"):
        load_file(analysis(tmp_path, two_inputs, selection="X9 > 1"), "base")


def test_empty_input_is_fine_but_empty_file_is_not(tmp_path, two_inputs):
    out = load_file(analysis(tmp_path, two_inputs, selection="Y1 > 173"), "base")
    assert len(out) == 300
    empty = r"files\.base\.inputs.*no event passes.*files\.base\.selection: 'Y1 > 200'"
    with pytest.raises(DataError, match=empty):
        load_file(analysis(tmp_path, two_inputs, selection="Y1 > 200"), "base")


def test_nan_and_inf_are_errors(tmp_path):
    frame = events(50, 3)
    frame.loc[3, "X1"] = np.nan
    frame.loc[7, "wt"] = np.inf
    frame.loc[9, "junk"] = np.nan  # not kept: harmless
    path = write_parquet(tmp_path / "bad.parquet", frame)
    with pytest.raises(DataError) as err:
        load_file(analysis(tmp_path, [path]), "base")
    msg = str(err.value)
    assert "bad.parquet" in msg and "2 row(s)" in msg and "['X1', 'wt']" in msg
    # Rows removed by the selection do not count.
    out = load_file(analysis(tmp_path, [path], selection="(X1 == X1) & (wt < 10)"), "base")
    assert len(out) == 48


# ---------------------------------------------------------------------------------------------
# pre_calculate and function dicts
# ---------------------------------------------------------------------------------------------

USER_MODULE = """
import pandas as pd


def scale(df, column, factor):
    df[column + "_scaled"] = df[column] * factor
    df["scratch"] = 1.0
    return df


def not_a_frame(df):
    return 3
"""


def test_pre_calculate_string_and_function(tmp_path, two_inputs):
    (tmp_path / "user_funcs.py").write_text(USER_MODULE)
    spec = {
        "type": "function",
        "file": "user_funcs.py",
        "name": "scale",
        "args": {"column": "X1sq", "factor": 0.5},
        "inputs": ["X1sq"],
        "outputs": ["X1sq_scaled"],
    }
    ana = analysis(tmp_path, two_inputs, pre_calculate={"X1sq": "X1 ** 2", "half": spec})
    out = load_file(ana, "base", base_dir=tmp_path)
    assert list(out.columns) == ["Y1", "X1", "wt", "X1sq", "X1sq_scaled"]
    np.testing.assert_allclose(out["X1sq_scaled"], 0.5 * out["X1"] ** 2)
    # The relative file is looked up from base_dir; the `.py` suffix may be left out.
    spec_no_suffix = {**spec, "file": "user_funcs"}
    ana = analysis(tmp_path, two_inputs, pre_calculate={"X1sq": "X1**2", "h": spec_no_suffix})
    assert "X1sq_scaled" in load_file(ana, "base", base_dir=tmp_path).columns


def test_function_dict_errors(tmp_path):
    (tmp_path / "user_funcs.py").write_text(USER_MODULE)
    frame = events(5, 1)
    base = {"type": "function", "file": "user_funcs.py", "name": "scale", "args": {}}
    src = "files.base.pre_calculate.f"
    with pytest.raises(ConfigError, match=rf"{src}.file: 'nope.py'"):
        apply_function(frame, {**base, "file": "nope.py"}, src, tmp_path)
    with pytest.raises(ConfigError, match=rf"{src}.name: .*no function 'absent'"):
        apply_function(frame, {**base, "name": "absent"}, src, tmp_path)
    with pytest.raises(ConfigError, match=rf"{src}: `type` must be 'function'"):
        apply_function(frame, {**base, "type": "expression"}, src, tmp_path)
    with pytest.raises(ConfigError, match=rf"{src}: .*must return a pandas DataFrame, got int"):
        apply_function(frame, {**base, "name": "not_a_frame"}, src, tmp_path)
    good = {**base, "args": {"column": "X1", "factor": 2.0}}
    with pytest.raises(ConfigError, match=rf"{src}: declared output.*\['Z'\]"):
        apply_function(frame, {**good, "outputs": ["Z"]}, src, tmp_path)
    with pytest.raises(ConfigError, match=rf"{src}: .*failed: TypeError"):
        apply_function(frame, base, src, tmp_path)
    with pytest.raises(DataError, match=rf"{src}: declared input.*\['Q'\]"):
        apply_function(frame, {**good, "inputs": ["Q"]}, src, tmp_path)
    # The caller's frame is not modified by a function that edits its argument.
    out = apply_function(frame, good, src, tmp_path)
    assert "X1_scaled" in out.columns and "X1_scaled" not in frame.columns
    assert function_columns({**good, "inputs": ["X1"], "outputs": ["X1_scaled"]}) == (
        ["X1"],
        ["X1_scaled"],
    )


# ---------------------------------------------------------------------------------------------
# asym_log_normal
# ---------------------------------------------------------------------------------------------


def test_asym_lnn_factor_values_and_continuity():
    kd, ku = np.array([0.9, 0.7]), np.array([1.2, 1.6])
    np.testing.assert_allclose(lnn_factor(1.0, kd, ku), ku)
    np.testing.assert_allclose(lnn_factor(-1.0, kd, ku), kd)
    np.testing.assert_allclose(lnn_factor(0.0, kd, ku), 1.0)
    for edge in (0.5, -0.5):
        for eps in (1e-6, 1e-8):
            lo = lnn_factor(edge - eps, kd, ku)
            hi = lnn_factor(edge + eps, kd, ku)
            np.testing.assert_allclose(lo, hi, rtol=10 * eps)


def test_one_weight_variation():
    df = pd.DataFrame(
        {
            "wt": [2.0, 2.0, 2.0, 2.0, 2.0],
            "nu": [1.0, -1.0, 1.0, 0.5, 1.0],
            "w_up": [1.2, 1.2, 5.0, 1.2, 0.0],
            "nom": [1.0, 1.0, 1.0, 1.0, 0.0],
            "region": [1, 1, 1, 1, 0],
        }
    )
    out = one_weight_variation(df, "nu", "w_up", nominal="nom")
    # r at ν=1, 1/r at ν=−1; r clipped to 2; r^0.5 in the smooth region; a zero nominal gives 1.
    expected = 2.0 * np.array([1.2, 1 / 1.2, 2.0, np.sqrt(1.2), 1.0])
    np.testing.assert_allclose(out["wt"], expected)
    assert (df["wt"] == 2.0).all()
    # add_one_to_weight: the column stores r − 1; mask leaves events outside untouched.
    df2 = df.assign(w_up=df["w_up"] - 1.0)
    out = one_weight_variation(df2, "nu", "w_up", add_one_to_weight=True, mask="region == 0")
    np.testing.assert_allclose(out["wt"], [2.0, 2.0, 2.0, 2.0, 2.0 * 0.5])


def test_two_weight_variation_through_config_dict():
    df = pd.DataFrame(
        {"wt": [1.0, 1.0, 1.0], "nu": [1.0, -1.0, 0.0], "up": [1.3] * 3, "dn": [0.8] * 3}
    )
    spec = {
        "type": "function",
        "file": "asym_log_normal",
        "name": "two_weight_variation",
        "args": {"param": "nu", "weight_up": "up", "weight_down": "dn"},
        "inputs": ["nu", "up", "dn"],
    }
    out = apply_function(df, spec, "files.base.weight_shifts.sys")
    np.testing.assert_allclose(out["wt"], [1.3, 0.8, 1.0])
    np.testing.assert_allclose(two_weight_variation(df, "nu", "up", "dn")["wt"], out["wt"])


# ---------------------------------------------------------------------------------------------
# add_summed_columns
# ---------------------------------------------------------------------------------------------


def test_add_summed_columns(tmp_path, two_inputs):
    summed = [
        {"name": "sumw_hi", "column": "wt", "selection": "Y1 > 172"},
        {"name": "n_all", "column": None, "selection": None},
        {"name": "frac_lo", "column": "wt / n_all", "selection": "Y1 < 172"},
    ]
    out = load_file(analysis(tmp_path, two_inputs, add_summed_columns=summed), "base")
    assert list(out.columns) == ["Y1", "X1", "wt", "sumw_hi", "n_all", "frac_lo"]
    hi = out["Y1"] > 172
    total_hi = out.loc[hi, "wt"].sum()
    np.testing.assert_allclose(out.loc[hi, "sumw_hi"], total_hi)
    assert (out.loc[~hi, "sumw_hi"] == 0).all()
    assert (out["n_all"] == 500).all()
    np.testing.assert_allclose(out.loc[~hi, "frac_lo"], out.loc[~hi, "wt"].sum() / 500)
    assert (out.loc[hi, "frac_lo"] == 0).all()


def test_load_file_is_fast_enough(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(1_000_000, 12)), columns=[f"c{i}" for i in range(12)])
    frame["X1"], frame["Y1"], frame["wt"] = frame["c0"], 172.5, 1.0
    path = write_parquet(tmp_path / "big.parquet", frame)
    import time

    start = time.perf_counter()
    out = load_file(analysis(tmp_path, [path], selection="c1 > -10"), "base")
    assert len(out) == 1_000_000 and time.perf_counter() - start < 5


# ---------------------------------------------------------------------------------------------
# DataCategories
# ---------------------------------------------------------------------------------------------


def data_config(tmp_path, data_files, **top):
    raw = raw_config(tmp_path, ["x.parquet"])
    raw["data_file"] = data_files
    raw["categories"] = {"early": "run == 2", "late": "run == 3", "none": "run == 9"}
    raw.update(top)
    return raw


def test_data_events(tmp_path):
    (tmp_path / "user_funcs.py").write_text(USER_MODULE)
    d1 = write_parquet(tmp_path / "d1.parquet", events(100, 5)[["X1", "junk"]])
    d2 = write_parquet(tmp_path / "d2.parquet", events(80, 6)[["X1", "junk"]])
    raw = data_config(
        tmp_path,
        [d1, d2],
        data_add_columns={"run": [2, 3], "flag": 1},
        data_calculate={
            "shifted": "X1 - 172.5",
            "f": {
                "type": "function",
                "file": "user_funcs.py",
                "name": "scale",
                "args": {"column": "junk", "factor": -1.0},
                "outputs": ["junk_scaled"],
            },
        },
        data_selection="junk_scaled < 0",
    )
    ana = load_analysis(raw)
    late = load_data_events(ana, "late", base_dir=tmp_path)
    expected = pd.read_parquet(d2)
    expected = expected[expected["junk"] > 0]
    assert len(late) == len(expected) and (late["run"] == 3).all()
    assert late.columns[0] == "X1" and late["X1"].dtype == np.float64
    assert {"shifted", "junk_scaled", "flag", "junk"} <= set(late.columns)
    np.testing.assert_allclose(late["shifted"], expected["X1"] - 172.5)
    early = load_data_events(ana, "early", base_dir=tmp_path)
    assert (early["run"] == 2).all() and len(early) == (pd.read_parquet(d1)["junk"] > 0).sum()
    empty = load_data_events(ana, "none", base_dir=tmp_path)
    assert empty.empty and "X1" in empty.columns


def test_data_events_errors(tmp_path):
    d1 = write_parquet(tmp_path / "d1.parquet", events(10, 5)[["junk"]])
    raw = data_config(tmp_path, None, data_add_columns={"run": 2})
    with pytest.raises(ConfigError, match="data_file is not set"):
        load_data_events(load_analysis(raw), "early")
    raw["data_file"] = d1
    with pytest.raises(DataError, match=r"d1\.parquet: missing variable\(s\) \['X1'\]"):
        load_data_events(load_analysis(raw), "early")
    raw["data_add_columns"] = {"run": [2, 3]}
    with pytest.raises(ConfigError, match=r"data_add_columns\.run: 2 value\(s\) for 1"):
        load_data_events(load_analysis(raw), "early")
    bad = events(10, 5)[["X1"]]
    bad.loc[2, "X1"] = np.inf
    raw["data_file"] = write_parquet(tmp_path / "d2.parquet", bad)
    raw["data_add_columns"] = {"run": 2}
    with pytest.raises(DataError, match=r"d2\.parquet.*1 row\(s\) with NaN or inf.*\['X1'\]"):
        load_data_events(load_analysis(raw), "early")


def test_root_data_needs_data_tree_name(tmp_path):
    d1 = write_root(tmp_path / "d1.root", events(40, 5)[["X1"]])
    raw = data_config(tmp_path, [d1], data_add_columns={"run": 3})
    with pytest.raises(ConfigError, match="data_tree_name"):
        load_data_events(load_analysis(raw), "late")
    # `data_tree_name` is not in the analysis schema yet, so the Analysis is built directly.
    raw["data_tree_name"] = "tree"
    out = load_data_events(Analysis(raw=raw, source="test"), "late")
    assert len(out) == 40 and out["X1"].dtype == np.float64


# ---------------------------------------------------------------------------------------------
# ResampleValidationForData
# ---------------------------------------------------------------------------------------------


def process(n, total, seed, value):
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.full(n, value), rng.normal(size=n)])
    w = rng.uniform(0.5, 1.5, n)
    return x, w * total / w.sum()


def test_resample_counts_and_reproducibility():
    samples = [process(2000, 300.0, 1, 0.0), process(5000, 700.0, 2, 1.0)]
    out = resample_for_data(samples, ["A", "B"], np.random.default_rng(4), poisson=False)
    assert list(out.columns) == ["A", "B", "wt"] and (out["wt"] == 1.0).all()
    assert len(out) == 1000 and (out["A"] == 0).sum() == 300
    # Shuffled: the first process is not one block at the top.
    assert 0 < (out["A"].iloc[:300] == 0).sum() < 300
    again = resample_for_data(samples, ["A", "B"], np.random.default_rng(4), poisson=False)
    pd.testing.assert_frame_equal(out, again)
    toy = resample_for_data(samples, ["A", "B"], np.random.default_rng(5))
    assert abs(len(toy) - 1000) < 5 * np.sqrt(1000)
    assert not toy.equals(resample_for_data(samples, ["A", "B"], np.random.default_rng(6)))


def test_resample_count_is_poisson_of_the_total_weight():
    """Toys of one sample: the count has mean and variance Σw (Poisson), which is what makes
    the pulls of a pseudo-data closure test unit-width; without `poisson` it never changes."""
    total = 60.0
    sample = [process(400, total, 3, 0.0)]
    counts = np.array(
        [len(resample_for_data(sample, ["A", "B"], np.random.default_rng(s))) for s in range(800)]
    )
    # mean ± 4 standard errors; the variance of a Poisson(60) over 800 toys within ±20 %
    assert abs(counts.mean() - total) < 4 * np.sqrt(total / len(counts))
    assert counts.var(ddof=1) == pytest.approx(total, rel=0.2)
    fixed = {
        len(resample_for_data(sample, ["A", "B"], np.random.default_rng(s), poisson=False))
        for s in range(20)
    }
    assert fixed == {60}


def test_resampling_pull_width_matches_toys():
    """Pseudo-data drawn from a finite sample repeat its fluctuation: the spread of their mean
    around the truth is √(1 + N/n_eff) times the σ a fit of N events quotes."""
    n_source, n_data = 200, 600.0
    pulls = []
    for seed in range(600):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(n_source, 1))
        w = np.full(n_source, n_data / n_source)
        data = resample_for_data([(x, w)], ["A"], rng)
        pulls.append(data["A"].mean() * np.sqrt(len(data)))
    expected = resampling_pull_width([(x, w)])
    assert expected == pytest.approx(2.0)
    assert np.std(pulls) == pytest.approx(expected, rel=0.1)
    assert pull_width_warning([(x, w)], "category c, point 3").startswith(
        "category c, point 3: the pseudo-data (600 expected events) are drawn from validation "
        "events worth 200 effective events"
    )
    big = [(np.zeros((60_000, 1)), np.full(60_000, 0.01))]  # N/n_eff = 0.01: no warning
    assert resampling_pull_width(big) == pytest.approx(np.sqrt(1.01))
    assert pull_width_warning(big, "c") is None


def test_resample_draws_proportional_to_weight():
    x = np.array([[0.0], [1.0], [2.0]])
    w = np.array([1000.0, 3000.0, -10.0])  # the negative-weight event is never drawn
    out = resample_for_data([(x, w)], ["A"], np.random.default_rng(0), poisson=False)
    assert len(out) == 3990
    assert (out["A"] != 2.0).all()
    assert (out["A"] == 1.0).mean() == pytest.approx(0.75, abs=0.03)


def test_resample_rejects_non_positive_total():
    x = np.zeros((3, 1))
    with pytest.raises(DataError, match="process 1: total weight"):
        resample_for_data(
            [(x, np.ones(3)), (x, np.array([1.0, -2.0, 0.0]))], ["A"], np.random.default_rng(0)
        )


# ---------------------------------------------------------------------------------------------
# weight_shifts a model learns
# ---------------------------------------------------------------------------------------------


def test_weight_shifts_must_change_events_a_model_learns(tmp_path):
    """An entry is used when a process reading its file has a parameter it reads among its
    shape parameters (density parameter or shift, ratio model); a constant factor is always
    used; a nuisance nothing models is an error naming the entry."""
    raw = raw_config(tmp_path, ["x.parquet"], weight_shifts={"k": "1.02", "nu": "1 + 0.1 * nu"})
    raw["nuisances"] = ["nu"]
    raw["default_values"]["nu"] = 0.0
    with pytest.raises(ConfigError, match=r"files\.base\.weight_shifts\.nu: varies the weights"):
        check_weight_shifts_modelled(load_analysis(raw))
    # learned by the flow as a shift of its training set
    flow = copy.deepcopy(raw)
    entry = flow["models"]["Gaussian"]["density_models"][0]
    entry["parameters"].append("nu")
    entry["shifts"] = {"nu": {"type": "continuous", "range": [-2.0, 2.0]}}
    check_weight_shifts_modelled(load_analysis(flow))
    # learned by a regression of the weight ratio
    ratio = copy.deepcopy(raw)
    ratio["models"]["Gaussian"]["regression_models"] = [
        {
            "parameter": "nu",
            "file": "base",
            "shifts": {"nu": {"type": "continuous", "range": [-2.0, 2.0]}},
        }
    ]
    check_weight_shifts_modelled(load_analysis(ratio))
    # a second process on another file does not model this file's events
    other = copy.deepcopy(raw)
    other["files"]["other"] = {"inputs": ["o.parquet"], "weight": "wt", "parameters": []}
    other["models"]["Other"] = {
        "density_models": [
            {
                "file": "other",
                "parameters": ["nu"],
                "shifts": {"nu": {"type": "fixed", "value": 1.0}},
            }
        ],
        "yields": [{"file": "other"}],
    }
    other["validation"]["files"]["Other"] = [{"file": "other"}]
    with pytest.raises(ConfigError, match=r"file 'base' learns that"):
        check_weight_shifts_modelled(load_analysis(other))
