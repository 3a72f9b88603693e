"""Trivial baselines every leaderboard shows: what imbalance buys, chance, and a perfect score."""
import hashlib
from typing import Literal

import numpy as np

from colosseum.registry import register_method


@register_method("oracle", needs_truth=True, scalar_units=True)
def oracle(points, eval_idx, dim, *, seed: int, truth):
    """Returns the true curvature (filled in by the runner): it must score 1.0, guarding the scorer."""
    truth = np.asarray(truth, dtype=np.float64)
    if truth.shape != eval_idx.shape:
        raise ValueError(f"oracle got truth of shape {truth.shape} for {eval_idx.shape} eval rows")
    return truth


@register_method("constant")
def constant(points, eval_idx, dim, *, seed: int, sign: Literal[-1, 1] = -1):
    """One sign everywhere: its plain accuracy is the class share, its balanced accuracy 0.5."""
    return np.full(eval_idx.shape, float(sign))


@register_method("random_sign")
def random_sign(points, eval_idx, dim, *, seed: int):
    """+1 or -1 with probability 1/2 each: chance level.

    Drawn from the seed and a digest of the cloud, not the seed alone: a battery draws its surfaces
    by seed (the quadric's sign follows the seed's parity), so signs from the seed alone repeat
    across every configuration with that seed and score as if informed (0.75 over 36 points of
    the battery, all copies of four draws)."""
    digest = int.from_bytes(hashlib.sha256(np.ascontiguousarray(points).tobytes()).digest()[:8], "little")
    return np.random.default_rng([seed, digest]).choice([-1.0, 1.0], size=eval_idx.shape)
