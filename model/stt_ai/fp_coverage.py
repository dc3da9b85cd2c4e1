"""Functional-coverage classification of the STT-AI FP units' operations (the BF16 multiplier, FP32 adder, MAC and
PE of ``stt-ai-mishty-sadi.txt``; numpy, vectorised over bit patterns).

Each classifier maps arrays of operand bit patterns to small integer bin codes whose names are in the matching
``*_NAMES`` tuple; :mod:`scripts.sim.func_coverage` samples them into cocotb-coverage coverpoints.

* Operand classes (:func:`operand_class`): zero, subnormal, normal, infinity, NaN, each by sign.
* Rounding (:func:`round_class`): where the exact result lies between its two binary32 neighbours, by the
  goldens' round-to-nearest-even: exact, below half an ulp, a tie, above half an ulp. NaN or infinite operands
  (no rounding) are ``exact``. Under ``ftz`` subnormal operands count as zeros (as the goldens treat them).
* Overflow (:func:`overflow`): finite operands, infinite golden result.
* Underflow (:func:`underflow`): the exact result is non-zero and below the smallest normal ``2**-126`` in
  magnitude (tininess before rounding): the result is subnormal, rounds to zero, or is flushed (``ftz``).
* Cancellation (:func:`cancellation`) of an addition of finite non-zero operands of opposite signs: an exact zero,
  massive (the result's leading bit is at least two places below the larger operand's), one place, or none.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CLASS_NAMES", "ROUND_NAMES", "CANCEL_NAMES", "operand_class", "mul_exact", "add_exact", "round_class",
           "overflow", "underflow", "cancellation", "classify_mul", "classify_add", "classify_mac", "classify_pe", "FUNCTIONAL",
           "functional_bins"]

#: Operand classes, in code order.
CLASS_NAMES = ("+zero", "-zero", "+subnormal", "-subnormal", "+normal", "-normal", "+inf", "-inf", "+nan", "-nan")
#: Rounding cases, in code order.
ROUND_NAMES = ("exact", "below_half", "tie", "above_half")
#: Cancellation cases of an addition, in code order.
CANCEL_NAMES = ("none", "one_bit", "massive", "exact_zero")

_FORMATS = {"bf16": (16, 8, 7), "fp32": (32, 8, 23)}   # width, exponent bits, fraction bits
_BIAS = 127
_EMIN = -126
_CAP = 36          # alignment shift beyond which the smaller addend only acts as a sticky bit


def _fields(bits, fmt: str):
    if fmt not in _FORMATS:
        raise ValueError(f"fmt must be 'bf16' or 'fp32', got {fmt!r}")
    width, ebits, fbits = _FORMATS[fmt]
    b = np.asarray(bits).astype(np.int64) & ((1 << width) - 1)
    sign = (b >> (width - 1)) & 1
    exp = (b >> fbits) & ((1 << ebits) - 1)
    frac = b & ((1 << fbits) - 1)
    return sign, exp, frac, fbits


def operand_class(bits, fmt: str) -> np.ndarray:
    """Class code (index into :data:`CLASS_NAMES`) of each ``fmt`` (``"bf16"``/``"fp32"``) bit pattern."""
    sign, exp, frac, _ = _fields(bits, fmt)
    top = exp == 255
    kind = np.where(exp == 0, np.where(frac == 0, 0, 1), np.where(top, np.where(frac == 0, 3, 4), 2))
    return (2 * kind + sign).astype(np.int64)


def _significand(bits, fmt: str, ftz: bool):
    """Signed integer significand ``m`` and exponent ``e`` with value ``m * 2**e`` (finite operands; NaN and
    infinities give garbage that the callers mask); subnormals are zeros under ``ftz``."""
    sign, exp, frac, fbits = _fields(bits, fmt)
    mag = np.where(exp == 0, frac, frac | (1 << fbits))
    if ftz:
        mag = np.where(exp == 0, 0, mag)
    e = np.maximum(exp, 1) - _BIAS - fbits
    return np.where(sign == 1, -mag, mag), e


def _finite(bits, fmt: str) -> np.ndarray:
    return _fields(bits, fmt)[1] != 255


def mul_exact(a, b, *, ftz: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The exact product of bfloat16 patterns as ``(m, e)``: value ``m * 2**e``, ``m`` a signed int64."""
    ma, ea = _significand(a, "bf16", ftz)
    mb, eb = _significand(b, "bf16", ftz)
    return ma * mb, ea + eb


def add_exact(a, b, *, ftz: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The exact sum of binary32 patterns as ``(m, e)`` (value ``m * 2**e``), except that an addend more than
    ``2**36`` times smaller than the other's exponent step is replaced by a sticky 1 at that step: this keeps
    ``m`` within int64 and changes neither the rounding case nor the cancellation case."""
    ma, ea = _significand(a, "fp32", ftz)
    mb, eb = _significand(b, "fp32", ftz)
    swap = eb > ea
    ma, mb, ea, eb = np.where(swap, mb, ma), np.where(swap, ma, mb), np.where(swap, eb, ea), np.where(swap, ea, eb)
    d = ea - eb
    far = d > _CAP
    shift = np.minimum(d, _CAP)
    small = np.where(far & (ma != 0), np.sign(mb), mb)
    big = np.where(ma == 0, 0, ma)
    m = (big << shift) + small
    return m, np.where(far, ea - _CAP, eb)


def _bitlength(x: np.ndarray) -> np.ndarray:
    """Bit length of non-negative int64 values (0 for 0), exactly."""
    x = np.asarray(x, np.int64)
    n = np.zeros(x.shape, np.int64)
    v = x.copy()
    for s in (32, 16, 8, 4, 2, 1):
        big = (v >> s) > 0
        n += np.where(big, s, 0)
        v = np.where(big, v >> s, v)
    return n + (v > 0)


def _lead(m, e) -> np.ndarray:
    """Exponent of the leading bit of ``|m| * 2**e`` (meaningless for m = 0)."""
    return _bitlength(np.abs(m)) - 1 + e


def round_class(m, e) -> np.ndarray:
    """Rounding case (index into :data:`ROUND_NAMES`) of the exact value ``m * 2**e`` to binary32, ties to even
    (the result's ulp is ``2**(max(lead, -126) - 23)``; overflowing values use the ulp of their exponent)."""
    mag = np.abs(np.asarray(m, np.int64))
    e = np.asarray(e, np.int64)
    q = np.maximum(_lead(mag, e), _EMIN) - 23           # exponent of the result's ulp
    k = np.clip(q - e, 0, 62)                           # bits below the ulp
    rem = mag & ((np.int64(1) << k) - 1)
    half = np.where(k > 0, np.int64(1) << np.maximum(k - 1, 0), 0)
    out = np.where(rem == 0, 0, np.where(rem < half, 1, np.where(rem == half, 2, 3)))
    return np.where((mag == 0) | (k == 0), 0, out).astype(np.int64)


def overflow(finite_operands, result_bits) -> np.ndarray:
    """Finite operands whose binary32 golden result is infinite."""
    r = np.asarray(result_bits).astype(np.int64)
    return np.asarray(finite_operands, bool) & ((r & 0x7FFFFFFF) == 0x7F800000)


def underflow(m, e) -> np.ndarray:
    """Non-zero exact values ``m * 2**e`` below ``2**-126`` in magnitude."""
    return (np.asarray(m) != 0) & (_lead(m, e) < _EMIN)


def cancellation(a, b, m, e, *, ftz: bool = False) -> np.ndarray:
    """Cancellation case (index into :data:`CANCEL_NAMES`) of the binary32 sum ``a + b`` with exact value
    ``m * 2**e`` (from :func:`add_exact`)."""
    ma, ea = _significand(a, "fp32", ftz)
    mb, eb = _significand(b, "fp32", ftz)
    opposite = (ma != 0) & (mb != 0) & (np.sign(ma) != np.sign(mb)) & _finite(a, "fp32") & _finite(b, "fp32")
    lead_in = np.maximum(_lead(ma, ea), _lead(mb, eb))
    drop = lead_in - _lead(m, e)
    out = np.where(m == 0, 3, np.where(drop >= 2, 2, np.where(drop == 1, 1, 0)))
    return np.where(opposite, out, 0).astype(np.int64)


def classify_mul(a, b, product, *, ftz: bool = False) -> dict:
    """Bin codes of bfloat16 products: ``a``, ``b`` (classes), ``round``, ``overflow``, ``underflow``
    (``product``: the golden's binary32 results)."""
    finite = _finite(a, "bf16") & _finite(b, "bf16")
    m, e = mul_exact(a, b, ftz=ftz)
    return {"a": operand_class(a, "bf16"), "b": operand_class(b, "bf16"),
            "round": np.where(finite, round_class(m, e), 0),
            "overflow": overflow(finite, product).astype(np.int64),
            "underflow": (finite & underflow(m, e)).astype(np.int64)}


def classify_add(a, b, total, *, ftz: bool = False) -> dict:
    """Bin codes of binary32 sums: ``a``, ``b`` (classes), ``round``, ``overflow``, ``underflow``, ``cancel``
    (``total``: the golden's results)."""
    finite = _finite(a, "fp32") & _finite(b, "fp32")
    m, e = add_exact(a, b, ftz=ftz)
    return {"a": operand_class(a, "fp32"), "b": operand_class(b, "fp32"),
            "round": np.where(finite, round_class(m, e), 0),
            "overflow": overflow(finite, total).astype(np.int64),
            "underflow": (finite & underflow(m, e)).astype(np.int64),
            "cancel": np.where(finite, cancellation(a, b, m, e, ftz=ftz), 0)}


def classify_mac(a, b, c, *, ftz: bool = False) -> dict:
    """Bin codes of MACs ``fl32(fl32(a * b) + c)``: the operand classes ``a``, ``b``, ``c`` and, with prefixes
    ``mul_`` and ``add_``, the bins of the two rounding steps (:func:`classify_mul`, :func:`classify_add`)."""
    from model.fp_golden import ref_bf16_mul, ref_fp32_add

    p = ref_bf16_mul(a, b, ftz=ftz)
    mul = classify_mul(a, b, p, ftz=ftz)
    add = classify_add(p, c, ref_fp32_add(p, c, ftz=ftz), ftz=ftz)
    return {"a": mul["a"], "b": mul["b"], "c": add["b"],
            **{f"mul_{k}": mul[k] for k in ("round", "overflow", "underflow")},
            **{f"add_{k}": add[k] for k in ("round", "overflow", "underflow", "cancel")}}


def classify_pe(mode, acts, wgts, psums, *, ftz: bool = False, previous_mode: int | None = None) -> dict:
    """Bin codes of PE vectors (``ref_pe``'s arguments, one vector a row): ``mode``; ``switch`` (``2 * previous
    + mode`` of consecutive vectors: 0->0, 0->1, 1->0, 1->1; the first vector counts only after
    ``previous_mode``, else -1); and per vector the bins of its three multipliers and the adders it uses
    (all three in mode 1, the first ... third addition ``m_i + psum_i`` in mode 0), each ``(N, 3)``:
    ``mul_round``, ``mul_underflow``, ``add_round``, ``add_cancel``, ``add_overflow``, ``add_underflow``; and the
    adders' operands ``add_a``, ``add_b`` (binary32 patterns, ``(N, 3)``)."""
    from model.fp_golden import ref_bf16_mul, ref_fp32_add

    mode = np.asarray(mode).astype(np.int64).reshape(-1)
    acts, wgts, psums = (np.asarray(x) for x in (acts, wgts, psums))
    prev = np.concatenate([[-1 if previous_mode is None else int(previous_mode)], mode[:-1]])
    switch = np.where(prev < 0, -1, 2 * prev + mode)
    m = ref_bf16_mul(acts, wgts, ftz=ftz)
    mul = classify_mul(acts, wgts, m, ftz=ftz)
    sys_ = ref_fp32_add(m, psums, ftz=ftz)
    a1 = sys_[:, 0]
    a3 = ref_fp32_add(m[:, 2], m[:, 1], ftz=ftz)
    a2 = ref_fp32_add(a1, a3, ftz=ftz)
    conv = mode[:, None] == 1
    left = np.where(conv, np.stack([m[:, 0], a1, m[:, 2]], axis=1), m)
    right = np.where(conv, np.stack([psums[:, 0], a3, m[:, 1]], axis=1), psums)
    total = np.where(conv, np.stack([a1, a2, a3], axis=1), sys_)
    add = classify_add(left, right, total, ftz=ftz)
    return {"mode": mode, "switch": switch, "mul_round": mul["round"], "mul_underflow": mul["underflow"],
            "add_a": left, "add_b": right,
            **{f"add_{k}": add[k] for k in ("round", "cancel", "overflow", "underflow")}}


# --- the functional coverage model: coverpoints per block (sampled by scripts/sim/func_coverage.py) -----------

_YES_NO = ("no", "yes")
_KINDS = ("zero", "subnormal", "normal", "inf", "nan")
_MODES = ("systolic", "conv")
_SWITCHES = ("0->0", "0->1", "1->0", "1->1")

#: Per block: sampling groups -> ([(coverpoint, key of the classification, bin labels)], [crosses as point pairs]).
FUNCTIONAL: dict[str, dict] = {
    "bf16_mul": {"": ([("a", "a", CLASS_NAMES), ("b", "b", CLASS_NAMES), ("a_kind", "a_kind", _KINDS),
                       ("b_kind", "b_kind", _KINDS), ("round", "round", ROUND_NAMES),
                       ("overflow", "overflow", _YES_NO), ("underflow", "underflow", _YES_NO)],
                      [("a_kind", "b_kind")])},
    "fp32_add": {"": ([("a", "a", CLASS_NAMES), ("b", "b", CLASS_NAMES), ("a_kind", "a_kind", _KINDS),
                       ("b_kind", "b_kind", _KINDS), ("round", "round", ROUND_NAMES),
                       ("overflow", "overflow", _YES_NO), ("underflow", "underflow", _YES_NO),
                       ("cancel", "cancel", CANCEL_NAMES)],
                      [("a_kind", "b_kind")])},
    "bf16_mac": {"": ([("a", "a", CLASS_NAMES), ("b", "b", CLASS_NAMES), ("c", "c", CLASS_NAMES),
                       ("mul_round", "mul_round", ROUND_NAMES), ("mul_overflow", "mul_overflow", _YES_NO),
                       ("mul_underflow", "mul_underflow", _YES_NO), ("add_round", "add_round", ROUND_NAMES),
                       ("add_overflow", "add_overflow", _YES_NO), ("add_underflow", "add_underflow", _YES_NO),
                       ("add_cancel", "add_cancel", CANCEL_NAMES)], [])},
    "reconfigurable_pe": {
        "vector": ([("mode", "mode", _MODES)], []),
        "pair": ([("switch", "switch", _SWITCHES)], []),
        "multiplier": ([("round", "mul_round", ROUND_NAMES), ("underflow", "mul_underflow", _YES_NO)], []),
        "adder": ([("mode", "mode", _MODES), ("round", "add_round", ROUND_NAMES),
                   ("cancel", "add_cancel", CANCEL_NAMES), ("overflow", "add_overflow", _YES_NO),
                   ("underflow", "add_underflow", _YES_NO)], [("mode", "round"), ("mode", "cancel")])},
}


def functional_bins(block: str) -> dict[str, list]:
    """Every bin of ``block``'s coverpoints and crosses, by full coverpoint name (``<block>[.<group>].<point>``)."""
    out = {}
    for group, (points, crosses) in FUNCTIONAL[block].items():
        prefix = ".".join(p for p in (block, group) if p)
        labels = {name: list(bins) for name, _, bins in points}
        out.update({f"{prefix}.{name}": bins for name, bins in labels.items()})
        for x, y in crosses:
            out[f"{prefix}.{x}_x_{y}"] = [(i, j) for i in labels[x] for j in labels[y]]
    return out
