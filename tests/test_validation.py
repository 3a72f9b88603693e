"""colosseum.contract.validate_inputs and the registry's Method wrapper around a method function."""
from __future__ import annotations

import uuid

import numpy as np
import pytest

from colosseum import registry
from colosseum.contract import MIN_POINTS, Estimate, validate_inputs
from colosseum.registry import register_method


def _cloud(n: int = 20, big_d: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, big_d))


IDX = np.array([0, 3, 7])


# ----------------------------------------------------------------------------- points

@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_points_are_rejected(bad):
    pts = _cloud()
    pts[5, 1] = bad
    with pytest.raises(ValueError, match=r"non-finite.*NaN or inf.*first rows \[5\]"):
        validate_inputs(pts, IDX, 2)


@pytest.mark.parametrize("shape", [(20,), (20, 3, 2), ()])
def test_points_of_wrong_rank_are_rejected(shape):
    pts = np.zeros(shape)
    with pytest.raises(ValueError, match=r"points must be a 2-D \(N, D\) array"):
        validate_inputs(pts, IDX, 1)


def test_points_of_non_real_dtype_are_rejected():
    pts = _cloud().astype(np.complex128)
    with pytest.raises(ValueError, match="real numbers"):
        validate_inputs(pts, IDX, 2)


# ----------------------------------------------------------------------------- dim

@pytest.mark.parametrize("dim", [0, -1])
def test_dim_below_one_is_rejected(dim):
    with pytest.raises(ValueError, match=r"dim must satisfy 1 <= dim < D = 3"):
        validate_inputs(_cloud(), IDX, dim)


@pytest.mark.parametrize("dim", [3, 4])
def test_dim_not_below_ambient_dimension_is_rejected(dim):
    with pytest.raises(ValueError, match=rf"dim must satisfy 1 <= dim < D = 3 .*got dim = {dim}"):
        validate_inputs(_cloud(), IDX, dim)


@pytest.mark.parametrize("dim", [2.0, 1.5, "2", None, True, np.float64(2.0)])
def test_non_integer_dim_is_rejected(dim):
    with pytest.raises(ValueError, match="dim must be an integer"):
        validate_inputs(_cloud(), IDX, dim)


def test_numpy_integer_dim_is_accepted():
    _, _, d = validate_inputs(_cloud(), IDX, np.int32(2))
    assert d == 2 and type(d) is int


# ----------------------------------------------------------------------------- eval_idx

@pytest.mark.parametrize("idx", [[0, 20], [19, 25], [-1, 2], [0, -20]])
def test_eval_rows_out_of_range_or_negative_are_rejected(idx):
    with pytest.raises(ValueError, match=r"eval_idx has 1 rows out of range \[0, 20\)"):
        validate_inputs(_cloud(n=20), np.array(idx), 2)


def test_empty_eval_rows_are_rejected():
    with pytest.raises(ValueError, match="eval_idx must be a non-empty 1-D array"):
        validate_inputs(_cloud(), np.array([], dtype=np.int64), 2)


def test_two_dimensional_eval_rows_are_rejected():
    with pytest.raises(ValueError, match="eval_idx must be a non-empty 1-D array"):
        validate_inputs(_cloud(), np.array([[0, 1], [2, 3]]), 2)


def test_float_eval_rows_are_rejected():
    with pytest.raises(ValueError, match="eval_idx must hold integers, got dtype float64"):
        validate_inputs(_cloud(), np.array([0.0, 1.0, 2.0]), 2)


# ----------------------------------------------------------------------------- too few points

def test_too_few_points_are_rejected():
    n = MIN_POINTS - 1
    with pytest.raises(ValueError, match=rf"too few points: {n} given.*at least {MIN_POINTS}"):
        validate_inputs(_cloud(n=n), np.array([0]), 2)


def test_too_few_points_for_a_high_dimension():
    # dim + 2 exceeds MIN_POINTS: d = 11 in R^12 needs 13 points
    with pytest.raises(ValueError, match=r"too few points: 12 given, a 11-dimensional cloud needs at least 13"):
        validate_inputs(_cloud(n=12, big_d=12), np.array([0]), 11)
    pts, _, _ = validate_inputs(_cloud(n=13, big_d=12), np.array([0]), 11)
    assert pts.shape == (13, 12)


# ----------------------------------------------------------------------------- a valid call

def test_valid_call_returns_read_only_float64_copy():
    original = _cloud()
    keep = original.copy()
    pts, idx, d = validate_inputs(original, [1, 2, 19], 2)
    assert pts.dtype == np.float64 and pts.shape == (20, 3)
    np.testing.assert_array_equal(pts, keep)
    assert not pts.flags.writeable
    with pytest.raises(ValueError):
        pts[0, 0] = 1.0
    assert not np.shares_memory(pts, original)
    original[0, 0] = 123.0  # the caller's later writes do not leak into the validated copy
    assert pts[0, 0] == keep[0, 0]
    assert original.flags.writeable  # the caller's own array is untouched
    assert idx.dtype == np.int64 and idx.tolist() == [1, 2, 19]
    assert d == 2 and type(d) is int


def test_integer_points_are_converted_to_float64():
    pts_int = np.arange(60, dtype=np.int32).reshape(20, 3)
    pts, idx, _ = validate_inputs(pts_int, np.array([0, 1], dtype=np.int32), 1)
    assert pts.dtype == np.float64 and not pts.flags.writeable
    np.testing.assert_array_equal(pts, pts_int.astype(float))
    assert idx.dtype == np.int64


# ----------------------------------------------------------------------------- the Method wrapper

def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


@pytest.fixture
def isolated_registry(monkeypatch):
    """Test methods get unique names and are dropped from the (process-global) registry afterwards."""
    registry.list_methods()  # load the built-ins before taking the snapshot
    monkeypatch.setattr(registry, "_ENTRIES", {k: dict(v) for k, v in registry._ENTRIES.items()})


@pytest.fixture
def method_returning(isolated_registry):
    return _make_method_returning


def _make_method_returning(values_fn):
    name = _unique("test_validation_method")

    @register_method(name)
    def fn(points, eval_idx, dim, *, seed: int):
        return values_fn(points, eval_idx)

    return registry.make_method(name)


@pytest.mark.parametrize("make_out, shape", [
    (lambda p, i: np.zeros(i.size + 1), r"\(4,\)"),
    (lambda p, i: np.zeros((i.size, 1)), r"\(3, 1\)"),
    (lambda p, i: 0.0, r"\(\)"),
    (lambda p, i: np.zeros(p.shape[0]), r"\(20,\)"),
])
def test_method_returning_wrong_shape_raises(make_out, shape, method_returning):
    method = method_returning(make_out)
    with pytest.raises(ValueError, match=rf"returned shape {shape}, expected \(3,\)"):
        method(_cloud(), IDX, 2)


def test_method_returning_non_numeric_values_raises(method_returning):
    method = method_returning(lambda p, i: np.array(["a"] * i.size))
    with pytest.raises(ValueError, match="expected real numbers"):
        method(_cloud(), IDX, 2)


def test_method_diagnostic_of_wrong_shape_raises(method_returning):
    method = method_returning(lambda p, i: Estimate(values=np.zeros(i.size),
                                                     diagnostics={"radius": np.zeros(i.size + 2)}))
    with pytest.raises(ValueError, match=r"diagnostic 'radius' has shape \(5,\), expected \(3,\)"):
        method.estimate(_cloud(), IDX, 2)


def test_method_wrapper_validates_inputs_before_calling(method_returning):
    calls = []
    method = method_returning(lambda p, i: calls.append(1) or np.zeros(i.size))
    pts = _cloud()
    pts[2, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        method(pts, IDX, 2)
    with pytest.raises(ValueError, match="out of range"):
        method(_cloud(), np.array([0, 99]), 2)
    with pytest.raises(ValueError, match="dim must satisfy"):
        method(_cloud(), IDX, 3)
    assert calls == []


def test_method_sees_read_only_float64_points_and_returns_float64(method_returning):
    seen = {}

    def body(p, i):
        seen["dtype"], seen["writeable"], seen["idx"] = p.dtype, p.flags.writeable, i.dtype
        return np.arange(i.size, dtype=np.int32)  # integers are accepted and converted

    method = method_returning(body)
    out = method(np.arange(60).reshape(20, 3), [0, 1, 2], 2)
    assert seen == {"dtype": np.float64, "writeable": False, "idx": np.int64}
    assert out.dtype == np.float64 and out.tolist() == [0.0, 1.0, 2.0]


def test_method_that_writes_into_points_cannot_corrupt_the_callers_cloud(method_returning):
    def body(p, i):
        p[0, 0] = 1e9  # must fail: the cloud is read-only
        return np.zeros(i.size)

    method = method_returning(body)
    cloud = _cloud()
    before = cloud.copy()
    with pytest.raises(ValueError, match="read-only"):
        method(cloud, IDX, 2)
    np.testing.assert_array_equal(cloud, before)


def test_builtin_constant_method_through_the_wrapper():
    out = registry.make_method("constant", sign=1)(_cloud(), IDX, 2, seed=3)
    assert out.dtype == np.float64 and out.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="'sign' expects one of -1, 1, got 0"):
        registry.make_method("constant", sign=0)(_cloud(), IDX, 2)
