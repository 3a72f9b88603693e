"""Report generation on a tiny run: the HTML, the markdown and every image they reference exist."""
from __future__ import annotations

import re

import numpy as np
from conftest import run_cli

from colosseum.report import stats as report


def test_report_on_a_tiny_run(tmp_path):
    out = run_cli("-m", "dataset=torus,saddle", "dataset.noise=0.0,0.05", "method=oracle,random_sign",
                  "seed=0,1", f"run_dir={tmp_path / 'r'}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rep = run_cli(str(tmp_path / "r"), "--n-boot", "100", cwd=tmp_path, script="colosseum-report")
    assert rep.returncode == 0, rep.stderr
    folder = tmp_path / "r" / "report"
    page = (folder / "report.html").read_text()
    md = (folder / "report.md").read_text()
    images = set(re.findall(r'src="([^"]+\.png)"', page)) | set(re.findall(r"\]\(([^)]+\.png)\)", md))
    assert {"leaderboard.png", "scatter.png", "vs_noise.png", "critical_difference.png",
            "cloud_torus.png"} <= images
    for name in images:
        assert (folder / name).stat().st_size > 1000, name
    assert "oracle" in page and "random_sign" in md
    assert (folder / "leaderboard.csv").exists()


def test_critical_difference_follows_nemenyi():
    # k = 3 methods on n = 10 blocks: q = 2.343, CD = q sqrt(k(k+1)/(6n)) = 2.343 * sqrt(12/60)
    assert np.isclose(report.critical_difference(3, 10), 2.343 * np.sqrt(12 / 60))
