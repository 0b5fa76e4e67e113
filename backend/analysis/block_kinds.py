"""A model's blocks grouped by what e_fit's per-block term sees, with that term tabulated.

e_fit scores hundreds of thousands of law candidates per model (widths.py). Each candidate gives every block a
quantized width 8 n, and the block's term is the log-distance from the builder's width A_j(8 n) (its
width/group adjustment) to the block's observed width. The term depends on the block only through its kind,
the triple (observed width, b, g), and a model has a handful of kinds (its stages). So the term is computed
once per kind for every n up to a cap and looked up; an n outside the table (a candidate far wider than the
model, or garbage from an overflowing candidate) takes the same elementwise formula directly. A lookup returns
exactly what the formula returns: the table holds its outputs. (efit_exact.py uses the kinds and the formula.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.designspace.regnet import QUANT, adjust_widths_groups

#: the table covers quantized widths up to this many times the model's widest block
TABLE_SPAN = 4


@dataclass(frozen=True)
class BlockKinds:
    obs: np.ndarray  # (K,) observed width of each kind
    bot_muls: np.ndarray | None  # (K,) b of each kind; None: no adjustment (the plain law)
    group_ws: np.ndarray | None  # (K,) g of each kind
    of_block: np.ndarray  # (d,) kind of each block
    costs: np.ndarray  # (K, N+1) the term of quantized width 8 n, n = 0..N

    @classmethod
    def of(cls, widths: np.ndarray, bot_muls: np.ndarray | None, group_ws: np.ndarray | None) -> BlockKinds:
        """`bot_muls` or `group_ws` None: the plain law, no adjustment."""
        plain = bot_muls is None or group_ws is None
        ones = np.ones(len(widths))
        key = np.stack([np.asarray(widths, dtype=np.float64), ones if plain else np.asarray(bot_muls, np.float64),
                        ones if plain else np.asarray(group_ws, np.float64)], axis=1)
        kinds, of_block = np.unique(key, axis=0, return_inverse=True)
        bm, g = (None, None) if plain else (kinds[:, 1], kinds[:, 2].astype(np.int64))
        blank = cls(kinds[:, 0], bm, g, of_block.ravel(), np.empty((0, 0)))
        top = int(np.ceil(TABLE_SPAN * float(np.max(widths)) / QUANT))
        kind = np.arange(len(kinds))[:, None]
        q = np.broadcast_to(np.arange(top + 1, dtype=np.int64) * QUANT, (len(kinds), top + 1))
        return cls(blank.obs, bm, g, blank.of_block, blank.cost(blank.direct(q, kind), kind))

    def direct(self, q: np.ndarray, kind: np.ndarray) -> np.ndarray:
        """The builder's width for quantized width q (int64) in blocks of the given kinds, by the formula."""
        if self.bot_muls is None or self.group_ws is None:
            return q
        out: np.ndarray = adjust_widths_groups(q, self.bot_muls[kind], self.group_ws[kind])[0]
        return out

    def cost(self, width: np.ndarray, kind: np.ndarray) -> np.ndarray:
        """|log max(width, 1) - log obs|: e_fit's term for a block of this kind built `width` wide."""
        out: np.ndarray = np.abs(np.log(np.maximum(width, 1)) - np.log(self.obs)[kind])
        return out

    def cost_of(self, n: np.ndarray, kind: np.ndarray) -> np.ndarray:
        """The term of quantized width 8 n (int64) in blocks of these kinds (broadcast): looked up, or by the
        formula where n is outside the table."""
        n, kind = np.broadcast_arrays(n, kind)
        span = self.costs.shape[1]
        inside = n.view(np.uint64) < span  # 0 <= n < span (a negative n reads as a huge unsigned one)
        out: np.ndarray = self.costs.ravel().take(np.where(inside, n, 0) + kind * span)
        if not inside.all():
            n_out, kind_out = n[~inside], kind[~inside]
            out[~inside] = self.cost(self.direct(n_out * QUANT, kind_out), kind_out)
        return out
