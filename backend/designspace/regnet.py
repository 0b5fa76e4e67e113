"""The quantized linear width law and pycls's stage/group-width rules.

Follows pycls exactly (see shared/reference/PYCLS_FACTS.md §a) so that the model-zoo numbers match:
numpy `round` (halves to even) for the log-space stage index and the q=8 quantization, and the
width/group compatibility adjustment with Python's half-to-even `round`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.fielderrors import InvalidField

from .config import AnyNetConfig, RegNetParams, RegNetSpec, Standardization

QUANT = 8  # pycls fixes q = 8


@dataclass(frozen=True)
class RegNetWidths:
    """Everything `generate_regnet` knows about one (d, w0, wa, wm)."""

    widths: list[int]  # stage widths, increasing
    depths: list[int]  # blocks per stage
    num_stages: int  # distinct quantized widths
    total_stages: int  # max stage index + 1 (differs from num_stages when an index is skipped)
    block_widths: list[int]  # w_j for every block
    block_widths_cont: list[float]  # u_j = w0 + wa * j


def block_stage_indices(depth: int, w0: float | np.ndarray, wa: float | np.ndarray,
                        wm: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """u_j and round(s_j) for j < depth, with exactly pycls's float operations (shared by every caller)."""
    u = np.arange(depth) * wa + w0
    ks = np.round(np.log(u / w0) / np.log(wm))
    return u, ks


def quantize_stage_width(w0: float | np.ndarray, wm: float | np.ndarray, ks: np.ndarray | float,
                         q: int = QUANT) -> np.ndarray:
    """w0 * wm^k rounded (half to even) to a multiple of q."""
    return stage_width_steps(w0, wm, ks, q) * q


def stage_width_steps(w0: float | np.ndarray, wm: float | np.ndarray, ks: np.ndarray | float,
                      q: int = QUANT) -> np.ndarray:
    """quantize_stage_width / q: the width in steps of q (e_fit looks its costs up by it)."""
    steps: np.ndarray = np.round(np.divide(w0 * np.power(wm, ks), q)).astype(np.int64)
    return steps


def generate_regnet(depth: int, w0: float, wa: float, wm: float, q: int = QUANT) -> RegNetWidths:
    """Per-block widths from the quantized linear law, then stages as (unique width, count)."""
    if not (wa >= 0 and w0 > 0 and wm > 1 and w0 % q == 0):
        raise InvalidField("regnet", f"need wa >= 0, w0 > 0 and divisible by {q}, wm > 1 "
                         f"(got wa={wa}, w0={w0}, wm={wm})")
    u, ks = block_stage_indices(depth, w0, wa, wm)
    ws_all = quantize_stage_width(w0, wm, ks, q)
    ws, ds = np.unique(ws_all, return_counts=True)
    return RegNetWidths(
        widths=[int(x) for x in ws],
        depths=[int(x) for x in ds],
        num_stages=int(len(ws)),
        total_stages=int(ks.max()) + 1,
        block_widths=[int(x) for x in ws_all],
        block_widths_cont=[float(x) for x in u],
    )


def adjust_widths_groups(
    widths: np.ndarray, bot_muls: np.ndarray, group_ws: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """pycls's width/group compatibility rule, elementwise over arrays of any shape.

    The inner width w*bm is truncated, the group width capped to it, the inner width snapped
    (half to even) to a multiple of lcm(g, bm) (or g when bm <= 1), then divided back by bm. After it,
    w*bm is divisible by g, so grouped convs are valid. One vectorised function serves the scalar
    model builder and the million-candidate sampler alike.
    """
    w = np.asarray(widths, dtype=np.float64)
    bm = np.asarray(bot_muls, dtype=np.float64)
    g = np.asarray(group_ws, dtype=np.int64)
    v = np.maximum(1.0, w * bm).astype(np.int64)  # int(max(1, w*bm)) truncates
    g_adj = np.minimum(g, v)
    bm_int = bm.astype(np.int64)
    m = np.where(bm > 1, np.lcm(g_adj, np.maximum(bm_int, 1)), g_adj)
    v_adj = np.maximum(m, (np.rint(v / m) * m).astype(np.int64))
    w_adj = (v_adj / bm).astype(np.int64)
    return w_adj, g_adj


def snap_group_width(g: np.ndarray) -> np.ndarray:
    """pycls's scale_model snapping of group widths: g <= 2 kept, 3..5 -> 4, else round(g/8)*8."""
    g = np.asarray(g, dtype=np.int64)
    snapped = (np.rint(g / 8) * 8).astype(np.int64)
    return np.where(g <= 2, g, np.where(g <= 5, 4, np.maximum(snapped, 8)))


def sweep_scale(
    widths: np.ndarray, bot_muls: np.ndarray, group_ws: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """pycls's sweep `scale_model` at factor 1 on AnyNet stage lists, in its order: widths rounded (half to
    even) to multiples of 8 (at least 8), group widths snapped, then the compatibility adjustment."""
    w = np.maximum(np.rint(np.asarray(widths, dtype=np.float64) / QUANT), 1).astype(np.int64) * QUANT
    return adjust_widths_groups(w, bot_muls, snap_group_width(group_ws))


def standardize_stages(
    widths: np.ndarray, bot_muls: np.ndarray, group_ws: np.ndarray, mode: Standardization = "netspace",
) -> tuple[np.ndarray, np.ndarray]:
    """Sampled AnyNet stage lists made buildable (docs/standardization.md).

    "pycls_sweep" is exactly pycls's sweep path for a sampled AnyNet: `sweep_scale` on the raw lists.
    "netspace" (the default) runs the compatibility adjustment first, then `sweep_scale`: the adjustment sees
    the sampled width and group width, not snapped ones. The two agree unless the adjustment leaves a group
    width off pycls's snap set (b in {2, 4}: about 4 % of AnyNetX_A draws).
    """
    if mode == "pycls_sweep":
        return sweep_scale(widths, bot_muls, group_ws)
    w, g = adjust_widths_groups(widths, bot_muls, group_ws)
    return sweep_scale(w, bot_muls, g)


def regnet_stages(
    widths: np.ndarray, bot_muls: np.ndarray, group_ws: np.ndarray, mode: Standardization = "netspace",
) -> tuple[np.ndarray, np.ndarray]:
    """A RegNet's stage widths and group widths from its generated widths: pycls's model construction (the
    compatibility adjustment; "netspace", the default, which the model zoo uses) or its sweep path, which
    converts to AnyNet that way and then runs `sweep_scale` ("pycls_sweep")."""
    w, g = adjust_widths_groups(widths, bot_muls, group_ws)
    return (w, g) if mode == "netspace" else sweep_scale(w, bot_muls, g)


def regnet_to_anynet(spec: RegNetSpec | RegNetParams, se_r: float | None = None,
                     standardize: Standardization | None = None) -> AnyNetConfig:
    """Expand a RegNet into the canonical AnyNet config: pycls's model-construction path, or its sweep path
    (`standardize`, else the spec's own `standardize`, else "netspace")."""
    mode = standardize or (spec.standardize if isinstance(spec, RegNetSpec) else "netspace")
    gen = generate_regnet(spec.depth, spec.w0, spec.wa, spec.wm)
    n = gen.num_stages
    bms = np.full(n, spec.bot_mul)
    widths, group_ws = regnet_stages(np.array(gen.widths), bms, np.full(n, spec.group_w), mode)
    extra = {}
    if isinstance(spec, RegNetSpec):
        extra = dict(stem_type=spec.stem_type, stem_w=spec.stem_w, block_type=spec.block_type,
                     head_w=spec.head_w, se_r=spec.se_r if se_r is None else se_r)
        stride = spec.stride
    else:
        extra = dict(se_r=se_r or 0.0)
        stride = 2
    params = RegNetParams(**{k: getattr(spec, k) for k in RegNetParams.model_fields})
    return AnyNetConfig(
        depths=gen.depths,
        widths=[int(x) for x in widths],
        strides=[stride] * n,
        bot_muls=[float(spec.bot_mul)] * n,
        group_ws=[int(x) for x in group_ws],
        regnet=params,
        **extra,
    )
