"""One model's complexity (`complexity`, the layer formulas on Python ints) equals the vectorised pass
(`complexity_batch`, numpy arrays) exactly, over random configs of every stem, block type, SE ratio (including
ratios whose SE width rounds to 0, where no SE is built) and head. The scalar path exists for speed (the NDS
importer counts every record with it); the array path is what the sampler and the pycls-oracle tests use."""

from __future__ import annotations

import time
from typing import get_args

import numpy as np

from backend.designspace.complexity import complexity, complexity_batch
from backend.designspace.config import AnyNetConfig, BlockType, StemType


def random_configs(n: int, seed: int) -> list[AnyNetConfig]:
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        s = int(rng.integers(1, 6))
        bms = rng.choice([0.25, 0.5, 1.0, 2.0], s).tolist()
        widths = (8 * rng.integers(1, 65, s)).tolist()
        gws = [int(rng.choice([g for g in (1, 2, 4, 8, 16) if round(w * bm) % g == 0] or [1]))
               for w, bm in zip(widths, bms, strict=True)]
        out.append(AnyNetConfig(
            stem_type=str(rng.choice(get_args(StemType))), stem_w=int(8 * rng.integers(1, 9)),
            block_type=str(rng.choice(get_args(BlockType))), depths=rng.integers(1, 9, s).tolist(), widths=widths,
            strides=rng.choice([1, 2], s).tolist(), bot_muls=bms, group_ws=gws,
            se_r=float(rng.choice([0.0, 0.25, 0.01])), head_w=int(rng.choice([0, 0, 256]))))
    return out


def test_scalar_and_vectorised_counts_agree():
    for i, cfg in enumerate(random_configs(600, seed=3)):
        im_size, num_classes = (224, 1000) if i % 2 else (32, 10)
        one = complexity(cfg, im_size, num_classes)
        many = complexity_batch([cfg.depths], [cfg.widths], cfg.strides, [cfg.bot_muls], [cfg.group_ws],
                                stem_type=cfg.stem_type, stem_w=cfg.stem_w, block_type=cfg.block_type,
                                se_r=cfg.se_r, head_w=cfg.head_w, im_size=im_size, num_classes=num_classes)
        assert one == {"flops": int(many.flops[0]), "params": int(many.params[0]), "acts": int(many.acts[0])}, cfg
        assert all(type(v) is int for v in one.values())


def test_one_model_is_counted_without_array_overhead():
    """The reason for the scalar path: the array pass on one model costs ~2 ms, the scalar one ~50 µs
    (shared 2-core machine); a factor of 5 leaves room for load."""
    cfgs = random_configs(200, seed=4)
    t0 = time.perf_counter()
    for cfg in cfgs:
        complexity(cfg)
    t1 = time.perf_counter()
    for cfg in cfgs:
        complexity_batch([cfg.depths], [cfg.widths], cfg.strides, [cfg.bot_muls], [cfg.group_ws],
                         stem_type=cfg.stem_type, stem_w=cfg.stem_w, block_type=cfg.block_type, se_r=cfg.se_r,
                         head_w=cfg.head_w)
    t2 = time.perf_counter()
    assert (t2 - t1) > 5 * (t1 - t0), (t1 - t0, t2 - t1)
