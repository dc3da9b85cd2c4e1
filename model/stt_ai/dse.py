"""Global-buffer design-space exploration of the STT-AI paper (stt-ai-mishty-sadi.txt, Sections III.B and V).

What is computed, and which paper equation or figure it reproduces:

* :func:`model_size_bytes` -- model storage in int8 / BF16 (Fig. 10 (a)).
* :func:`glb_bytes_per_layer`, :func:`glb_required` -- global-buffer (GLB) capacity a conv layer needs to run without
  DRAM accesses: ifmap + weights + ofmap of the current layer (Section V.A, Fig. 11). FC layers are excluded, as in
  the paper ("we ignored the fully connected layers' weight and activation sizes").
* :func:`extra_dram` -- extra DRAM traffic, latency and energy when a conv layer does not fit (Fig. 12).
* :func:`layer_times`, :func:`retention` -- occupancy/retention time of data in the GLB between consecutive layers,
  Eqs. (2)-(11) (Figs. 13, 14).
* :func:`partial_ofmap_bytes` -- size of one partial ofmap, the scratchpad of Section IV.D (Fig. 18).

Decisions where the paper is vague (each also stated at the function):

1. **"MB".** Capacities (GLB, scratchpad) and model sizes use binary units, 1 MB = 2**20 bytes, 1 KB = 2**10 bytes.
2. **"42 x 42 MAC array".** Read as H_A = 42 rows and W_SA = 42 MAC columns (Table I: W_SA = P_s * W_A), so in
   conv mode the array has W_A = floor(42 / P_s) = 14 PEs per row and H_A * W_A = 588 three-MAC PEs. The other
   reading (42 x 42 PEs, i.e. 5292 MACs) is available as ``ArrayConfig(..., unit="pe")`` and shown in the report.
3. **Grouped / depthwise convs.** Eq. (2)'s N_in_ch is the number of input channels one output channel reads,
   ``in_c / groups`` (1 for depthwise); the paper only has dense convs.
4. **Consecutive layers.** Eqs. (7), (10), (11) are applied to consecutive conv/FC layers of the flat execution-order
   list of :mod:`model.zoo` (pooling skipped). In branched models (Inception, ResNet shortcuts, DenseNet) this is
   the order the accelerator runs them, not the producer/consumer graph; the paper does not say which it used.
5. **T_pool_relu** (Eqs. (7), (11)) is a parameter, default 0: the paper says it is "relatively much shorter" and
   gives no number. It is added when the first layer of the pair is a conv layer.
6. **Cycles per step** default to Table II: 17 cycles for a conv step (3-MAC PE), 11 for a systolic (FC) step, at
   1 GHz; the paper gives them for BF16 hardware and we use them for both data types unless told otherwise.
7. **Extra DRAM traffic.** The paper gives no formula. When a conv layer needs ``need`` bytes and the GLB has
   ``cap``, the excess ``need - cap`` crosses the DRAM interface once more than it would otherwise (a lower bound:
   each byte that does not fit is spilled or refetched once); ``SPILL_FACTOR`` scales this. Latency is traffic /
   peak bandwidth of dual-channel DDR4-2933 with a 64-bit bus per channel; energy uses ``DDR4_PJ_PER_BIT``.
8. **Partial ofmap** (Fig. 18): one output channel of one image, ``out_h * out_w`` elements -- what the PE array
   accumulates over input channels (Section III.B: "partial sum of ofmaps ... stored in the scratchpad") with one
   output channel in flight (Section III.B's scheduling assumption) and images processed serially (Eq. (3)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.checks import check_choice, check_int, check_real
from model.zoo import Model, get_model

__all__ = ["BYTES_PER_ELEMENT", "MB", "KB", "GLB_PAPER_BYTES", "SCRATCHPAD_PAPER_BYTES", "PE_SIZE",
           "CONV_CYCLES", "SYSTOLIC_CYCLES", "CLOCK_HZ", "DDR4_TRANSFERS_PER_S", "DDR4_BUS_BYTES",
           "DDR4_CHANNELS", "DDR4_BANDWIDTH", "DDR4_PJ_PER_BIT", "SPILL_FACTOR", "ArrayConfig", "parse_array",
           "dtype_bytes", "model_size_bytes", "glb_bytes_per_layer", "glb_required", "extra_dram",
           "layer_times", "ref_layer_time", "retention", "RetentionResult", "partial_ofmap_bytes",
           "resolve_model"]

#: Bytes per element of each data type.
BYTES_PER_ELEMENT = {"int8": 1, "bf16": 2}
#: Binary megabyte and kilobyte (decision 1).
MB = 2 ** 20
KB = 2 ** 10
#: The paper's global buffer (Section V.A, Table III row 7): 12 MB.
GLB_PAPER_BYTES = 12 * MB
#: The paper's SRAM scratchpad for partial ofmaps (Section V.E): 52 KB in BF16 (26 KB int8).
SCRATCHPAD_PAPER_BYTES = 52 * KB
#: P_s, elements per conv PE (Fig. 3 (c): three MACs).
PE_SIZE = 3
#: Table II: clock cycles per step of the conv core (3 MAC) and the systolic core (1 MAC), BF16, 14 nm.
CONV_CYCLES = 17
SYSTOLIC_CYCLES = 11
#: Table II: clock frequency.
CLOCK_HZ = 1.0e9
#: DDR4-2933: 2933 mega-transfers per second per channel (JEDEC JESD79-4 speed bin).
DDR4_TRANSFERS_PER_S = 2933e6
#: 64-bit data bus per channel.
DDR4_BUS_BYTES = 8
#: Dual channel (Section V.A: "dual-channel DDR4-2933 DRAM with 64bit data bus").
DDR4_CHANNELS = 2
#: Peak bandwidth, 46.9 GB/s (assumption: peak, no refresh or bank-conflict losses -> a lower bound on latency).
DDR4_BANDWIDTH = DDR4_TRANSFERS_PER_S * DDR4_BUS_BYTES * DDR4_CHANNELS
#: DRAM access energy per bit, I/O included. Assumption: 20 pJ/bit, the low end of Horowitz (ISSCC 2014,
#: "Computing's energy problem": 1.3-2.6 nJ per 64-bit DRAM access = 20.3-40.6 pJ/bit); the paper gives none.
DDR4_PJ_PER_BIT = 20.0
#: How many times an excess byte crosses the DRAM interface (decision 7).
SPILL_FACTOR = 1.0


def dtype_bytes(dtype: str) -> int:
    """Bytes per element of ``dtype`` (``"int8"`` or ``"bf16"``)."""
    if not isinstance(dtype, str) or dtype.lower() not in BYTES_PER_ELEMENT:
        raise ValueError(f"dtype must be one of {sorted(BYTES_PER_ELEMENT)}, got {dtype!r}")
    return BYTES_PER_ELEMENT[dtype.lower()]


def resolve_model(model) -> Model:
    """A :class:`~model.zoo.Model` from a model or a zoo name (ValueError listing the names if unknown)."""
    if isinstance(model, Model):
        return model
    return get_model(model)


@dataclass(frozen=True)
class ArrayConfig:
    """The accelerator array (Table I).

    Parameters
    ----------
    rows : int
        H_A, rows of the array (MACs = PEs per column).
    cols : int
        Columns: W_SA MACs when ``unit="mac"`` (default, decision 2), W_A PEs when ``unit="pe"``.
    unit : {"mac", "pe"}
        How ``cols`` counts.
    pe_size : int
        P_s, MACs per conv PE (3).
    """

    rows: int
    cols: int
    unit: str = "mac"
    pe_size: int = PE_SIZE

    def __post_init__(self):
        for f in ("rows", "cols", "pe_size"):
            check_int(f"array {f}", getattr(self, f), min=1, type_error=False)
        check_choice("array unit", self.unit, ("mac", "pe"))
        if self.unit == "mac" and self.cols < self.pe_size:
            raise ValueError(f"array cols must be >= P_s = {self.pe_size} MACs to hold one conv PE, "
                             f"got {self.cols}")

    @property
    def h_a(self) -> int:
        """H_A: array height."""
        return self.rows

    @property
    def w_a(self) -> int:
        """W_A: PEs per row in conv mode (decision 2: floor(W_SA / P_s) for a MAC count)."""
        return self.cols // self.pe_size if self.unit == "mac" else self.cols

    @property
    def w_sa(self) -> int:
        """W_SA: MACs per row in systolic mode, Table I: W_SA = P_s * W_A (the MAC count itself for unit "mac")."""
        return self.cols if self.unit == "mac" else self.pe_size * self.cols

    def __str__(self):
        return f"{self.rows}x{self.cols}" + (" PEs" if self.unit == "pe" else "")


def parse_array(spec, unit: str = "mac") -> ArrayConfig:
    """Parse ``"HxW"`` (e.g. ``"42x42"``) into an :class:`ArrayConfig`; clear ValueError naming ``array``."""
    if isinstance(spec, ArrayConfig):
        return spec
    parts = str(spec).lower().replace("×", "x").split("x")
    try:
        if len(parts) != 2:
            raise ValueError
        rows, cols = (int(p.strip()) for p in parts)
    except ValueError:
        raise ValueError(f"array must be 'HxW' with positive integers, e.g. '42x42', got {spec!r}") from None
    if rows < 1 or cols < 1:
        raise ValueError(f"array must be 'HxW' with positive integers, e.g. '42x42', got {spec!r}")
    return ArrayConfig(rows, cols, unit)


# -------------------------------------------------------------------------------------------- per-model arrays
_ARRAY_CACHE: dict = {}


def _arrays(model: Model) -> dict:
    """Numpy columns of the model's compute (conv + FC) layers, for the vectorised formulas.

    Cached by object identity (hashing a frozen model of hundreds of layers on every call would cost more than the
    formulas); the cache keeps a reference to the model so the id stays valid, and holds at most 256 models.
    """
    hit = _ARRAY_CACHE.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    if len(_ARRAY_CACHE) >= 256:
        _ARRAY_CACHE.pop(next(iter(_ARRAY_CACHE)))
    a = _build_arrays(model)
    _ARRAY_CACHE[id(model)] = (model, a)
    return a


def _build_arrays(model: Model) -> dict:
    layers = model.compute_layers
    a = {
        "name": [l.name for l in layers],
        "is_conv": np.array([l.kind == "conv" for l in layers], dtype=bool),
        "in_c": np.array([l.in_c for l in layers], dtype=np.int64),
        "out_c": np.array([l.out_c for l in layers], dtype=np.int64),
        "groups": np.array([l.groups for l in layers], dtype=np.int64),
        "k_h": np.array([l.k_h for l in layers], dtype=np.int64),
        "k_w": np.array([l.k_w for l in layers], dtype=np.int64),
        "out_h": np.array([l.out_h for l in layers], dtype=np.int64),
        "out_w": np.array([l.out_w for l in layers], dtype=np.int64),
        "ifmap": np.array([l.ifmap_elems for l in layers], dtype=np.int64),
        "ofmap": np.array([l.ofmap_elems for l in layers], dtype=np.int64),
        "weights": np.array([l.weights for l in layers], dtype=np.int64),
    }
    for v in a.values():
        if isinstance(v, np.ndarray):
            v.setflags(write=False)
    return a


# --------------------------------------------------------------------------------------------------- Fig. 10 (a)
def model_size_bytes(model, dtype: str) -> int:
    """Storage of all parameters (weights, biases, BN) of ``model`` in ``dtype`` (Fig. 10 (a))."""
    return resolve_model(model).params * dtype_bytes(dtype)


# ------------------------------------------------------------------------------------------------------ Fig. 11
def glb_bytes_per_layer(model, batch: int, dtype: str) -> dict:
    """GLB bytes each conv layer needs to run without DRAM access (Section V.A, Fig. 11).

    ``need = (batch * ifmap + weights + batch * ofmap) * bytes`` -- "(i) input fmap, (ii) filter weights, (iii)
    output fmap of current layer"; ifmap/ofmap are unpadded, weights exclude bias/BN (a few hundred bytes at most).

    Returns a dict of numpy arrays over conv layers: ``name``, ``ifmap``, ``weights``, ``ofmap``, ``total`` (bytes).
    """
    m = resolve_model(model)
    batch = check_int("batch", batch, min=1, type_error=False)
    b = dtype_bytes(dtype)
    a = _arrays(m)
    c = a["is_conv"]
    ifmap = a["ifmap"][c] * batch * b
    weights = a["weights"][c] * b
    ofmap = a["ofmap"][c] * batch * b
    return {"name": [n for n, k in zip(a["name"], c) if k], "ifmap": ifmap, "weights": weights, "ofmap": ofmap,
            "total": ifmap + weights + ofmap}


def glb_required(model, batch: int, dtype: str) -> int:
    """Largest per-conv-layer need of :func:`glb_bytes_per_layer`: the GLB that avoids all DRAM accesses."""
    t = glb_bytes_per_layer(model, batch, dtype)["total"]
    return int(t.max()) if t.size else 0


# ------------------------------------------------------------------------------------------------------ Fig. 12
def extra_dram(model, batch: int, dtype: str, glb_bytes: float = GLB_PAPER_BYTES,
               bandwidth: float = DDR4_BANDWIDTH, pj_per_bit: float = DDR4_PJ_PER_BIT,
               spill_factor: float = SPILL_FACTOR) -> dict:
    """Extra DRAM traffic, latency and energy of the conv layers for a GLB of ``glb_bytes`` (Fig. 12).

    Decision 7 of the module docstring: per conv layer, ``extra = spill_factor * max(0, need - glb_bytes)`` bytes;
    ``seconds = extra / bandwidth`` (peak dual-channel DDR4-2933, 46.9 GB/s); ``joules = extra * 8 * pj_per_bit``.

    Returns ``{"bytes", "seconds", "joules"}`` summed over the model, and ``"layers_spilling"``.
    """
    check_real("glb_bytes", glb_bytes, min=0, type_error=False)
    check_real("bandwidth", bandwidth, min=0, min_open=True, type_error=False)
    check_real("pj_per_bit", pj_per_bit, min=0, type_error=False)
    check_real("spill_factor", spill_factor, min=0, type_error=False)
    need = glb_bytes_per_layer(model, batch, dtype)["total"]
    excess = np.maximum(need - glb_bytes, 0) * spill_factor
    total = float(excess.sum())
    return {"bytes": total, "seconds": total / bandwidth, "joules": total * 8 * pj_per_bit * 1e-12,
            "layers_spilling": int((excess > 0).sum())}


# --------------------------------------------------------------------------------------------- Eqs. (2)-(11)
def _timing_args(array, batch, conv_cycles, fc_cycles, clock_hz):
    array = parse_array(array)
    batch = check_int("batch", batch, min=1, type_error=False)
    for name, v in (("conv_cycles", conv_cycles), ("fc_cycles", fc_cycles)):
        check_int(f"{name} (clock cycles per step)", v, min=1, type_error=False)
    check_real("clock_hz", clock_hz, min=0, min_open=True, type_error=False)
    return array, batch, 1.0 / clock_hz


def layer_times(model, array="42x42", batch: int = 16, conv_cycles: int = CONV_CYCLES,
                fc_cycles: int = SYSTOLIC_CYCLES, clock_hz: float = CLOCK_HZ) -> np.ndarray:
    """Time (s) to generate the complete output of each conv/FC layer (vectorised over layers).

    Conv layers, Eqs. (2)-(5) (T_1 of layer n-1; T_2 of layer n is Eq. (6), the same formula)::

        N_steps = ceil(N_in_ch * k_h * N_ofmap_rw * ceil(k_w / P_s) / (W_A * H_A))      (2)
        t_step  = T_clk * N_cyc_per_stp * N_ofmap_cl * N_bat                               (3)
        T       = N_steps * t_step * N_out_ch                                              (4), (5)

    with N_in_ch = in_c / groups (decision 3). FC layers, Eq. (8) / (9)::

        T = ceil(m_fc / H_A) * ceil(n_fc / W_SA) * T_clk * N_cyc_per_stp * N_bat

    with m_fc output and n_fc input neurons.
    """
    m = resolve_model(model)
    arr, batch, t_clk = _timing_args(array, batch, conv_cycles, fc_cycles, clock_hz)
    a = _arrays(m)
    n_in = a["in_c"] // a["groups"]
    steps = -(-(n_in * a["k_h"] * a["out_h"] * (-(-a["k_w"] // arr.pe_size))) // (arr.w_a * arr.h_a))  # (2)
    t_conv = steps * (t_clk * conv_cycles) * a["out_w"] * batch * a["out_c"]  # (3)-(5)
    t_fc = (-(-a["out_c"] // arr.h_a)) * (-(-a["in_c"] // arr.w_sa)) * (t_clk * fc_cycles) * batch  # (8)
    return np.where(a["is_conv"], t_conv, t_fc)


def ref_layer_time(layer, array="42x42", batch: int = 16, conv_cycles: int = CONV_CYCLES,
                   fc_cycles: int = SYSTOLIC_CYCLES, clock_hz: float = CLOCK_HZ) -> float:
    """Scalar, pure-Python version of :func:`layer_times` for one layer (reference for tests and benchmark)."""
    arr, batch, t_clk = _timing_args(array, batch, conv_cycles, fc_cycles, clock_hz)
    if layer.kind == "conv":
        n_in = layer.in_c // layer.groups
        steps = math.ceil(n_in * layer.k_h * layer.out_h * math.ceil(layer.k_w / arr.pe_size)
                          / (arr.w_a * arr.h_a))  # Eq. (2)
        t_step = t_clk * conv_cycles * layer.out_w * batch  # Eq. (3)
        return steps * t_step * layer.out_c  # Eqs. (4), (5)
    if layer.kind == "fc":
        return math.ceil(layer.out_c / arr.h_a) * math.ceil(layer.in_c / arr.w_sa) * t_clk * fc_cycles * batch
    return 0.0


@dataclass(frozen=True)
class RetentionResult:
    """Retention time of every pair of consecutive compute layers (Eqs. (7), (10), (11)).

    ``prev[i]``/``next[i]`` are the layer names of pair i, ``kind[i]`` one of ``conv-conv``, ``conv-fc``,
    ``fc-fc`` (``fc-conv`` is treated like Eq. (10)), ``t1``, ``t2``, ``t_ret`` arrays in seconds.
    """

    model: str
    prev: list
    next: list
    kind: list
    t1: np.ndarray
    t2: np.ndarray
    t_ret: np.ndarray

    @property
    def max(self) -> float:
        return float(self.t_ret.max())

    @property
    def argmax(self) -> int:
        return int(self.t_ret.argmax())

    def rows(self) -> list[dict]:
        return [{"prev": p, "next": n, "kind": k, "t1_s": float(a), "t2_s": float(b), "t_ret_s": float(r)}
                for p, n, k, a, b, r in zip(self.prev, self.next, self.kind, self.t1, self.t2, self.t_ret)]


def retention(model, array="42x42", batch: int = 16, conv_cycles: int = CONV_CYCLES,
              fc_cycles: int = SYSTOLIC_CYCLES, clock_hz: float = CLOCK_HZ,
              t_pool_relu: float = 0.0) -> RetentionResult:
    """GLB retention time between consecutive layers (Section III.B, Eqs. (5)-(11); Figs. 13, 14).

    ``T_ret = T_1 + T_pool_relu + T_2`` for conv-conv (7) and conv-FC (11), ``T_ret = T_1 + T_2`` for FC-FC (10),
    with T_1 the output time of layer n-1 and T_2 that of layer n (:func:`layer_times`). ``t_pool_relu`` (s,
    default 0, decision 5) is added when layer n-1 is a conv layer. Pairs are consecutive conv/FC layers in
    execution order (decision 4).
    """
    m = resolve_model(model)
    check_real("t_pool_relu", t_pool_relu, min=0, type_error=False)
    t = layer_times(m, array, batch, conv_cycles, fc_cycles, clock_hz)
    a = _arrays(m)
    if t.size < 2:
        raise ValueError(f"model {m.name!r} needs at least 2 conv/fc layers for a retention time, has {t.size}")
    conv = a["is_conv"]
    t1, t2 = t[:-1], t[1:]
    t_ret = t1 + t2 + np.where(conv[:-1], t_pool_relu, 0.0)
    kinds = [("conv" if p else "fc") + "-" + ("conv" if q else "fc") for p, q in zip(conv[:-1], conv[1:])]
    return RetentionResult(m.name, a["name"][:-1], a["name"][1:], kinds, t1, t2, t_ret)


# ------------------------------------------------------------------------------------------------------ Fig. 18
def partial_ofmap_bytes(model, dtype: str) -> np.ndarray:
    """Bytes of one partial ofmap per conv layer (Fig. 18; decision 8): ``out_h * out_w * bytes``."""
    m = resolve_model(model)
    b = dtype_bytes(dtype)
    a = _arrays(m)
    c = a["is_conv"]
    return a["out_h"][c] * a["out_w"][c] * b
