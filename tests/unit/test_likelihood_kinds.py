"""The `poisson`, `binned_extended` and `binned` likelihoods: values by hand, autodiff
derivatives against finite differences, template interpolation, and input validation."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from innfer_lib.data.yields import lnn_factor  # noqa: E402
from innfer_lib.inference.likelihood import Likelihood  # noqa: E402
from innfer_lib.inference.model import (  # noqa: E402
    EXPECTATION_FLOOR,
    BinnedCategory,
    BinnedProcess,
    Category,
    Process,
    lnn_factor_tf,
)

COLUMNS = ["eta", "m", "mu", "nu"]
GRID = [-1.0, 0.0, 1.0, 2.0]
SIG_ROWS = np.array(
    [
        [4.0, 9.0, 2.0],
        [6.0, 12.0, 3.0],
        [9.0, 11.0, 5.0],
        [7.0, 15.0, 8.0],
    ]
)


def _sig_kappas() -> np.ndarray:
    """(n_grid, 2, n_bins) κ that change with the POI, so ∂κ/∂m enters the derivatives."""
    down = np.array([[0.90, 0.85, 0.95], [0.88, 0.80, 0.93], [0.92, 0.84, 0.90], [0.95, 0.9, 0.8]])
    up = np.array([[1.10, 1.25, 1.05], [1.15, 1.20, 1.08], [1.12, 1.30, 1.02], [1.05, 1.1, 1.2]])
    return np.stack([down, up], axis=1)


def _binned_categories() -> list[BinnedCategory]:
    sig = BinnedProcess(
        "sig", SIG_ROWS, {"nu": _sig_kappas()}, poi="m", grid=GRID, rate_parameter="mu"
    )
    bkg = BinnedProcess(
        "bkg",
        np.array([[5.0, 10.0, 3.0]]),
        {
            "nu": np.array([[[0.9, 0.95, 0.8], [1.1, 1.2, 1.05]]]),
            "eta": np.array([[0.7] * 3, [1.4] * 3]),
        },
    )
    other = BinnedProcess(
        "sig2",
        np.array([[2.0, 6.0]]),
        {"eta": np.array([[[0.8, 0.9], [1.3, 1.1]]])},
        rate_parameter="mu",
    )
    return [
        BinnedCategory("a", np.array([12.0, 30.0, 7.0]), [sig, bkg]),
        BinnedCategory("b", np.array([4.0, 9.5]), [other]),
    ]


def _poisson_categories() -> list[Category]:
    x = np.zeros((3, 1))
    return [
        Category(
            "a",
            x,
            np.array([0.5, 1.5, 2.0]),
            [
                Process("s", None, 2.0, rate_parameter="mu"),
                Process("b", None, 3.0, lnN={"nu": (0.8, 1.25), "eta": (0.9, 1.3)}),
            ],
        ),
        Category("b", x[:2], np.array([3.0, 4.0]), [Process("s", None, 5.0, rate_parameter="mu")]),
    ]


def _likelihood(kind: str) -> Likelihood:
    cats = _poisson_categories() if kind == "poisson" else _binned_categories()
    return Likelihood(
        COLUMNS, cats, kind=kind, constrained=["nu", "eta"], constraint_centres={"nu": 0.2}
    )


def _central(f, theta: np.ndarray, h: float = 1e-5) -> np.ndarray:
    out = []
    for i in range(len(theta)):
        e = np.zeros_like(theta)
        e[i] = h
        out.append((np.asarray(f(theta + e)) - np.asarray(f(theta - e))) / (2 * h))
    return np.array(out)


# (eta, m, mu, nu): m inside grid segments (not on a knot), ν inside and outside |ν| < ½.
THETAS = [
    [0.1, 0.3, 1.2, 0.3],
    [-0.7, 1.6, 0.8, -0.2],
    [0.45, -0.4, 1.05, 1.3],
    [-1.2, 0.8, 0.6, -0.9],
]


@pytest.fixture(scope="module", params=["poisson", "binned_extended", "binned"])
def kind_likelihood(request):
    """One likelihood per kind for all points: tracing (~1–3 s) dominates, evaluation is ms."""
    return request.param, _likelihood(request.param)


@pytest.mark.parametrize("theta", THETAS)
def test_derivatives_match_finite_differences(kind_likelihood, theta):
    kind, like = kind_likelihood
    theta = np.array(theta)
    value, grad = like.value_and_gradient(theta)
    assert np.isfinite(value)
    np.testing.assert_allclose(grad, _central(like, theta), rtol=1e-6, atol=1e-6)
    hess = like.hessian(theta)
    num_hess = _central(lambda t: like.value_and_gradient(t)[1], theta)
    np.testing.assert_allclose(hess, num_hess, rtol=1e-5, atol=1e-5)
    # Every parameter type acts: lnN (η, ν, with constraints), rate μ, and the shape POI m
    # (which only the binned kinds see; a Poisson count has no shape).
    acting = [0, 2, 3] if kind == "poisson" else [0, 1, 2, 3]
    assert np.all(np.abs(grad[acting]) > 1e-6)
    assert np.all(np.abs(np.diag(hess)[acting]) > 1e-4)
    if kind == "poisson":
        assert grad[1] == 0.0 and np.all(hess[1] == 0.0)


def _two_bin(kind: str, counts=(3.0, 5.0)) -> Likelihood:
    procs = [
        BinnedProcess("A", np.array([[2.0, 4.0]]), {}, rate_parameter="mu"),
        BinnedProcess("B", np.array([[1.0, 1.0]]), {"nu": np.array([[0.8, 0.8], [1.25, 1.2]])}),
    ]
    return Likelihood(
        ["mu", "nu"], [BinnedCategory("c", np.array(counts), procs)], kind=kind, constrained=["nu"]
    )


def test_two_bin_values_by_hand():
    # μ = 1.5: A = (3, 6). ν = +1 gives B = κ_up = (1.25, 1.2); ν = −1 gives κ_down = (0.8, 0.8).
    ext = _two_bin("binned_extended")
    expected = -(3 * np.log(4.25) - 4.25 + 5 * np.log(7.2) - 7.2) + 0.5
    assert ext([1.5, 1.0]) == pytest.approx(expected, rel=1e-14)
    expected = -(3 * np.log(3.8) - 3.8 + 5 * np.log(6.8) - 6.8) + 0.5
    assert ext([1.5, -1.0]) == pytest.approx(expected, rel=1e-14)
    # Shape only: ν rescaled to Σν = Σn = 8.
    shape = _two_bin("binned")
    nu = np.array([4.25, 7.2]) * 8.0 / 11.45
    expected = -(3 * np.log(nu[0]) + 5 * np.log(nu[1]) - 8.0) + 0.5
    assert shape([1.5, 1.0]) == pytest.approx(expected, rel=1e-14)
    # A shape-only fit cannot see an overall rate: with one process μ drops out entirely.
    alone = Likelihood(
        ["mu"],
        [
            BinnedCategory(
                "c", np.array([3.0, 5.0]), [BinnedProcess("A", [[2.0, 4.0]], {}, None, (), "mu")]
            )
        ],
        kind="binned",
    )
    assert alone([0.7]) == pytest.approx(alone([2.9]), rel=1e-14)
    assert alone.value_and_gradient([1.3])[1][0] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(ext.expected_bins([1.5, 1.0])["c"], [4.25, 7.2], rtol=1e-15)


def test_poisson_value_by_hand():
    cat = Category(
        "c",
        np.zeros((3, 1)),
        np.array([0.5, 1.5, 2.0]),
        [
            Process("s", None, 2.0, rate_parameter="mu"),
            Process("b", None, 3.0, lnN={"nu": (0.8, 1.25)}),
        ],
    )
    like = Likelihood(["mu", "nu"], [cat], kind="poisson", constrained=["nu"])
    lam = 2.0 * 2.0 + 3.0 * 1.25
    assert like([2.0, 1.0]) == pytest.approx(-(4.0 * np.log(lam) - lam) + 0.5, rel=1e-14)
    assert like.n_events == 3


def test_interpolation_reproduces_grid_rows_and_extrapolates_linearly():
    sig = BinnedProcess("sig", SIG_ROWS, {"nu": _sig_kappas()}, poi="m", grid=GRID)
    like = Likelihood(["m", "nu"], [BinnedCategory("c", np.ones(3), [sig])], kind="binned_extended")
    for g, row in zip(GRID, SIG_ROWS, strict=True):
        np.testing.assert_array_equal(like.expected_bins([g, 0.0])["c"], row)
        # At ν = 1 the factor is the interpolated κ_up, i.e. the grid row of κ_up.
        k_up = _sig_kappas()[GRID.index(g), 1]
        np.testing.assert_allclose(like.expected_bins([g, 1.0])["c"], row * k_up, rtol=1e-15)
    np.testing.assert_allclose(
        like.expected_bins([0.25, 0.0])["c"], 0.75 * SIG_ROWS[1] + 0.25 * SIG_ROWS[2], rtol=1e-15
    )
    # Beyond the grid: the end segments continue (finite, not NaN), with their own slope.
    above = SIG_ROWS[3] + 0.5 * (SIG_ROWS[3] - SIG_ROWS[2])
    np.testing.assert_allclose(like.expected_bins([2.5, 0.0])["c"], above, rtol=1e-14)
    below = SIG_ROWS[0] - 0.5 * (SIG_ROWS[1] - SIG_ROWS[0])
    np.testing.assert_allclose(like.expected_bins([-1.5, 0.0])["c"], below, rtol=1e-14)
    value, grad = like.value_and_gradient([2.5, 0.3])
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_lnn_factor_tf_matches_the_scalar_yield_formula():
    nus = np.concatenate([np.linspace(-2.0, 2.0, 41), [-0.5, 0.5, -0.4999999, 0.5000001]])
    for down, up in [(0.9, 1.2), (1.1, 1.3), (0.5, 2.0)]:
        got = [float(lnn_factor_tf(tf.constant(n, tf.float64), down, up)) for n in nus]
        np.testing.assert_allclose(got, [lnn_factor(n, down, up) for n in nus], rtol=1e-14)
    # Per-bin kappas broadcast against a scalar ν.
    vec = lnn_factor_tf(tf.constant(0.3, tf.float64), np.array([0.9, 1.1]), np.array([1.2, 1.3]))
    np.testing.assert_allclose(
        vec.numpy(), [lnn_factor(0.3, 0.9, 1.2), lnn_factor(0.3, 1.1, 1.3)], rtol=1e-14
    )


def test_empty_bins_are_floored_not_dropped():
    proc = [BinnedProcess("A", np.array([[0.0, 2.0]]), {}, rate_parameter="mu")]
    empty = Likelihood(["mu"], [BinnedCategory("c", np.array([0.0, 3.0]), proc)], "binned_extended")
    # An empty bin without counts contributes (almost exactly) nothing ...
    assert empty([1.0]) == pytest.approx(-(3 * np.log(2.0) - 2.0), abs=1e-11)
    # ... but one with counts keeps them: INNFER dropped the bin and its count.
    seen = Likelihood(["mu"], [BinnedCategory("c", np.array([1.0, 3.0]), proc)], "binned_extended")
    assert seen([1.0]) == pytest.approx(empty([1.0]) - np.log(EXPECTATION_FLOOR), rel=1e-12)
    value, grad = seen.value_and_gradient([1.0])
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_category_types_must_match_the_kind():
    binned = _binned_categories()
    events = _poisson_categories()
    for kind in ["binned", "binned_extended"]:
        with pytest.raises(ValueError, match="BinnedCategory"):
            Likelihood(COLUMNS, events, kind=kind)
        with pytest.raises(ValueError, match="BinnedCategory"):
            Likelihood(COLUMNS, [binned[0], events[0]], kind=kind)
    for kind in ["poisson", "unbinned", "unbinned_extended"]:
        with pytest.raises(ValueError, match="needs Category"):
            Likelihood(COLUMNS, binned, kind=kind)
        with pytest.raises(ValueError, match="needs Category"):
            Likelihood(COLUMNS, [events[0], binned[1]], kind=kind)
    with pytest.raises(ValueError, match="not one of"):
        Likelihood(COLUMNS, binned, kind="binnd")


@pytest.mark.parametrize(
    "process, message",
    [
        (BinnedProcess("p", np.ones((1, 2)), {}), r"expected \(n_grid, 3\)"),
        (BinnedProcess("p", np.ones((2, 3)), {}), "no shape POI"),
        (BinnedProcess("p", np.ones((2, 3)), {}, poi="m", grid=[1.0, 0.0]), "strictly increasing"),
        (BinnedProcess("p", np.ones((1, 3)), {"nu": np.ones((1, 2, 2))}), "lnN 'nu' has shape"),
        (BinnedProcess("p", np.ones((1, 3)), {"nu": np.zeros((2, 3))}), "finite and > 0"),
        (BinnedProcess("p", np.ones((1, 3)), {"zeta": np.ones((2, 3))}), "'zeta' is not one"),
        (BinnedProcess("p", np.ones((1, 3)), {}, rate_parameter="mu_x"), "'mu_x' is not one"),
    ],
)
def test_bad_templates_are_rejected(process, message):
    with pytest.raises(ValueError, match=message):
        Likelihood(COLUMNS, [BinnedCategory("c", np.ones(3), [process])], kind="binned_extended")


def test_shape_only_fit_needs_counts_and_binned_kinds_have_no_dmatrix():
    procs = [BinnedProcess("A", np.array([[2.0, 4.0]]), {})]
    with pytest.raises(ValueError, match="Σ counts > 0"):
        Likelihood(["mu"], [BinnedCategory("c", np.zeros(2), procs)], kind="binned")
    with pytest.raises(ValueError, match="dmatrix"):
        _two_bin("binned_extended").dmatrix([1.0, 0.0])
    with pytest.raises(ValueError, match="no bins"):
        _likelihood("poisson").expected_bins([0.0, 0.0, 1.0, 0.0])
