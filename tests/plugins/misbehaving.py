"""Test plugins: methods that fail in the ways the runner must survive."""
import time

import numpy as np

from colosseum.registry import register_method


@register_method("always_fails")
def always_fails(points, eval_idx, dim, *, seed: int, message: str = "planted failure"):
    raise RuntimeError(message)


@register_method("sleeper")
def sleeper(points, eval_idx, dim, *, seed: int, seconds: float = 60.0):
    time.sleep(seconds)
    return np.zeros(eval_idx.shape)


@register_method("wrong_shape")
def wrong_shape(points, eval_idx, dim, *, seed: int):
    return np.zeros(len(eval_idx) + 1)
