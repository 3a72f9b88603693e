"""Denoising as a stage: denoiser plugins, their validation, their place in a cell's identity, and results
smoothing."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli

from colosseum import registry, results
from colosseum.cells import CellSpec
from colosseum.compute import compute_cell, draw_sample
from colosseum.contract import validate_denoised

DENOISERS = [d for d in registry.list_denoisers() if d != "none"]


def test_the_builtin_denoisers_are_registered_with_none_first():
    assert registry.list_denoisers()[0] == "none"
    assert {"tangent_pca", "mls", "diffusion", "scms"} <= set(DENOISERS)


@pytest.fixture(scope="module")
def noisy_cap():
    return registry.make_dataset("sphere_cap", seed=0, n_points=1500, noise=0.05, cap_angle=1.2)


def _off_sphere(points: np.ndarray) -> float:
    """Mean distance to the unit sphere (centred at the origin: rotations keep it there)."""
    return float(np.abs(np.linalg.norm(points, axis=1) - 1.0).mean())


@pytest.mark.parametrize("name", DENOISERS)
def test_each_denoiser_moves_a_noisy_cap_toward_its_sphere(noisy_cap, name):
    out = registry.make_denoiser(name)(noisy_cap.points, noisy_cap.dim, seed=0)
    assert out.shape == noisy_cap.points.shape and np.isfinite(out).all()
    before, after = _off_sphere(noisy_cap.points), _off_sphere(out)
    # Gaussian noise of sd 0.05 in R^3 puts points |N(0, 0.05^2)| ~ 0.04 off the sphere on average
    assert before == pytest.approx(0.05 * np.sqrt(2 / np.pi), rel=0.1)
    assert after < 0.5 * before, (name, before, after)
    again = registry.make_denoiser(name)(noisy_cap.points, noisy_cap.dim, seed=0)
    np.testing.assert_array_equal(out, again)


def test_none_leaves_the_cloud_as_it_is(noisy_cap):
    out = registry.make_denoiser("none")(noisy_cap.points, noisy_cap.dim, seed=0)
    np.testing.assert_array_equal(out, noisy_cap.points)
    with pytest.raises(ValueError, match="takes no parameters"):
        registry.make_denoiser("none", k=3)


def test_a_collapsed_cloud_is_named_as_such_not_as_a_reordering(noisy_cap):
    """Over-smoothing pulls every row towards the centre: as far as a reordering would move them, but the
    cloud shrinks, which no reordering does; the message names what happened."""
    pts = noisy_cap.points
    centre = pts.mean(axis=0)
    collapsed = centre + 0.05 * (pts - centre)
    with pytest.raises(ValueError, match=r"collapsed the cloud: .* shrank its spread to 5% of the input's"):
        validate_denoised(collapsed, pts)
    with pytest.raises(ValueError, match="rows must stay in their order"):
        validate_denoised(pts[::-1], pts)


def test_denoised_output_is_checked_for_shape_finiteness_and_row_order(noisy_cap):
    pts = noisy_cap.points
    with pytest.raises(ValueError, match="shape"):
        validate_denoised(pts[:-1], pts)
    with pytest.raises(ValueError, match="non-finite"):
        validate_denoised(np.where(np.arange(len(pts))[:, None] == 3, np.nan, pts), pts)
    with pytest.raises(ValueError, match="rows must stay in their order"):
        validate_denoised(pts[::-1], pts)
    smoothed = registry.make_denoiser("diffusion")(pts, 2, seed=0)
    np.testing.assert_array_equal(validate_denoised(smoothed, pts), smoothed)


def test_denoise_none_gives_bit_identical_estimates_to_the_method_on_the_draw():
    spec = CellSpec.create("saddle", {"n_points": 500, "noise": 0.02}, "sritharan", {}, 1)
    payload = compute_cell(spec)
    sample = draw_sample(spec)
    direct = registry.make_method("sritharan")(sample.points, sample.eval_idx, sample.dim, seed=spec.method_seed)
    np.testing.assert_array_equal(payload["estimate"], direct)


def test_the_denoiser_is_part_of_the_cells_identity_but_not_of_its_truth_or_method_seed():
    base = CellSpec.create("saddle", {"n_points": 500}, "sritharan", {}, 1)
    mls = CellSpec.create("saddle", {"n_points": 500}, "sritharan", {}, 1, denoise="mls")
    mls_k = CellSpec.create("saddle", {"n_points": 500}, "sritharan", {}, 1, denoise="mls", denoise_params={"k": 40})
    assert len({base.key, mls.key, mls_k.key}) == 3 and len({base.cell_id, mls.cell_id}) == 2
    assert base.method_seed == mls.method_seed and base.draw_key == mls.draw_key
    assert "denoise" in mls.code and "denoise" not in base.code
    a, b = compute_cell(base), compute_cell(mls)
    np.testing.assert_array_equal(a["true_curvature"], b["true_curvature"])
    assert not np.array_equal(a["estimate"], b["estimate"])
    with pytest.raises(ValueError, match="'k' expects an integer >= 8"):
        CellSpec.create("saddle", {}, "sritharan", {}, 1, denoise="mls", denoise_params={"k": 2})


def test_result_smoothing_diffuses_estimates_over_the_neighbourhood():
    spec = CellSpec.create("sphere_cap", {"n_points": 600, "n_eval": 3, "noise": 0.03}, "sritharan", {}, 0,
                           smooth_t=2)
    out = compute_cell(spec)
    assert out["status"] == "ok"
    raw = out["diagnostics"]["unsmoothed"]
    assert np.all(out["diagnostics"]["smoothed_rows"] > 3)
    # an average of positive estimates of a unit cap is positive and less spread than single ones
    assert np.all(out["estimate"] > 0) and np.std(out["estimate"]) <= np.std(raw) + 1e-12
    declined = compute_cell(CellSpec.create("sphere_cap", {"n_points": 600}, "oracle", {}, 0, smooth_t=1))
    assert declined["status"] == "skipped" and "truth" in declined["error"]


REORDERING = '''
import numpy as np
from colosseum.registry import register_denoiser


@register_denoiser("reverses")
def reverses(points, dim, *, seed: int):
    return points[::-1]


@register_denoiser("drops_a_row")
def drops_a_row(points, dim, *, seed: int):
    return points[1:]
'''


@pytest.mark.slow
def test_a_denoiser_that_changes_row_order_or_shape_is_an_error_row_and_the_sweep_goes_on(tmp_path):
    (tmp_path / "configs" / "denoise").mkdir(parents=True)
    (tmp_path / "bad_denoisers.py").write_text(REORDERING)
    for name in ("reverses", "drops_a_row"):
        (tmp_path / "configs" / "denoise" / f"{name}.yaml").write_text(f"name: {name}\n")
    out = run_cli("-m", "dataset=saddle", "method=oracle", "denoise=none,reverses,drops_a_row,mls",
                  f"plugin_dirs=[{tmp_path}]", f"hydra.searchpath=[file://{tmp_path / 'configs'}]",
                  f"run_dir={tmp_path / 'r'}", "isolation=inline", cwd=tmp_path)
    assert out.returncode == 1
    df = results.load(tmp_path / "r").groupby("denoise").first()
    assert df.loc["none", "status"] == "ok" and df.loc["mls", "status"] == "ok"
    assert df.loc["reverses", "status"] == "error" and "order" in df.loc["reverses", "error"]
    assert df.loc["drops_a_row", "status"] == "error" and "shape" in df.loc["drops_a_row", "error"]
    assert (df["phase"].loc[["reverses", "drops_a_row"]] == "denoise").all()
    assert set(df.index) == {"none", "reverses", "drops_a_row", "mls"}


def test_every_denoiser_has_a_commented_config_mirroring_its_defaults():
    from omegaconf import OmegaConf

    from colosseum import paths

    folder = paths.CONFIGS / "denoise"
    plain = {p.stem: OmegaConf.to_container(OmegaConf.load(p)) for p in folder.glob("*.yaml")
             if "defaults" not in OmegaConf.load(p)}
    assert set(plain) == set(registry.list_denoisers())
    for name in DENOISERS:
        cfg = dict(plain[name])
        assert cfg.pop("name") == name
        defaults = dict(registry.entry(registry.DENOISER, name).defaults)
        assert cfg == defaults and all(type(cfg[k]) is type(v) for k, v in defaults.items()), name
        for line in (folder / f"{name}.yaml").read_text().splitlines():
            if ":" in line and not line.startswith(("#", "name:")):
                assert "#" in line, f"{name}.yaml: {line!r} has no comment"
    for p in folder.glob("*.yaml"):  # variants set parameters their denoiser takes
        cfg = OmegaConf.to_container(OmegaConf.load(p))
        if "defaults" in cfg:
            base = next(d for d in cfg.pop("defaults") if d != "_self_")
            registry.make_denoiser(base, **cfg)
