"""Time per evaluation point of the neural flatteners (issue 6: RFAE < ~5 s, MIOFlattener < ~30 s on 2 CPU
cores for neighbourhoods up to 1000 points).

Run: .venv/bin/python bench/bench_flattening.py [--sizes 250,500,1000] [--repeats 2] [--n-points 2000]
For each neighbourhood size: the first call (compilation included) and then `repeats` timed calls on
different evaluation points (the compiled trainer is reused: one compilation per size and config).
"Flatten" is the whole per-point cost (neighbourhood + Dijkstra d_M + training + quality figures); the
MIOFlattener's time includes the RFAE it starts from. Default settings (RFAEConfig(), MIOConfig()).
"""
from __future__ import annotations

import argparse
import os
import time

import jax
import numpy as np

from colosseum import registry
from colosseum.estimators.flattening import flattened, mioflow, rfae

FLATTENERS = {"rfae": rfae.RFAEFlattener(), "mioflattener": mioflow.MIOFlattener()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="250,500,1000")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--n-points", type=int, default=2000)
    args = ap.parse_args()
    s = registry.make_dataset("sphere_cap", seed=0, dim=2, n_points=args.n_points, cap_angle=1.5, n_eval=8)
    dev = jax.devices()[0]
    print(f"sphere cap d=2, N={args.n_points}; device {dev.platform} ({dev.device_kind}), cpus={os.cpu_count()}, "
          f"load={os.getloadavg()[0]:.1f}")
    print(f"{'space':>13} {'n':>5} {'first (compile) s':>18} {'per point s (runs)':>30} {'train s':>8} {'steps':>6}")
    for size in [int(x) for x in args.sizes.split(",")]:
        settings = flattened.FlattenSettings(neighbourhood=size)
        for space, flattener in FLATTENERS.items():
            times, train, steps = [], [], []
            for j in range(args.repeats + 1):
                t0 = time.perf_counter()
                _, _, q = flattened.flatten(s.points, int(s.eval_idx[j % len(s.eval_idx)]), 2, flattener, settings,
                                           seed=j)
                times.append(time.perf_counter() - t0)
                train.append(q["rfae_seconds"] + q.get("mio_seconds", 0.0))
                steps.append(int(q.get("mio_steps", q["rfae_steps"])))
            runs = ", ".join(f"{t:.2f}" for t in times[1:])
            print(f"{space:>13} {size:>5} {times[0]:>18.2f} {np.median(times[1:]):>8.2f} ({runs:>18}) "
                  f"{np.median(train[1:]):>8.2f} {steps[-1]:>6}", flush=True)


if __name__ == "__main__":
    main()
