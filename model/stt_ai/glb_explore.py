"""Global-buffer design-space exploration over a set of models: the numbers of the ``glb-dse`` report section.

Sweeps the formulas of :mod:`model.stt_ai.dse` (stt-ai-mishty-sadi.txt, Section III.B Eqs. (2)-(11), Section V.A/B/E)
over models, batch sizes, GLB capacities and array sizes (:func:`explore`, the data of Figs. 10 (a), 11-14, 18),
and derives the quantities the paper's text states (:func:`summarize`). Every decision where the paper is vague is
the one of :mod:`model.stt_ai.dse`; the paper's operating point is a 12 MB GLB (:data:`model.stt_ai.dse.GLB_PAPER_BYTES`), a
42x42 MAC array, batch 16 for retention (Fig. 13) and batch 8 for the extra DRAM traffic (Fig. 12).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from model.stt_ai import dse

__all__ = ["DTYPES", "PAPER_ARRAY", "RETENTION_BATCH", "DRAM_BATCH", "GLB_BATCHES", "INT8_CYCLES",
           "MOST_RETENTION_S", "fc_weight_bytes", "glb_layer_breakdown", "Exploration",
           "explore", "Summary", "summarize"]

DTYPES = ("int8", "bf16")
#: The paper's array (Section V.B, Fig. 13): 42 x 42 MACs (decision 2 of :mod:`model.stt_ai.dse`).
PAPER_ARRAY = "42x42"
#: Batch of the retention analysis (Fig. 13).
RETENTION_BATCH = 16
#: Batch of the extra-DRAM analysis (Fig. 12 (c), (d)).
DRAM_BATCH = 8
#: Batches at which the text states GLB needs (Section V.A: batch <= 2 int8, batch 1 BF16, batch 8 int8).
GLB_BATCHES = (1, 2, 8)
#: Cycles per step of int8 hardware (Section V.B: "usually 1-2 clock cycles"; we take 2 for conv and FC).
INT8_CYCLES = 2
#: "most models" need less than this retention time (Section V.B).
MOST_RETENTION_S = 0.5


def _no_progress(iterable: Iterable, desc: str = "", total: int | None = None) -> Iterable:
    return iterable


def fc_weight_bytes(model, dtype: str) -> int:
    """Bytes of the FC layers' weights of ``model`` (no bias) in ``dtype`` (Section V.A: "around 200MB")."""
    m = dse.resolve_model(model)
    return sum(l.weights for l in m.layers if l.kind == "fc") * dse.dtype_bytes(dtype)


def glb_layer_breakdown(model, batch: int, dtype: str) -> dict:
    """The conv layer with the largest GLB need (Fig. 11) and its parts, in bytes.

    Returns ``{"name", "ifmap", "weights", "ofmap", "total"}`` of the first layer reaching
    :func:`model.stt_ai.dse.glb_required`.
    """
    g = dse.glb_bytes_per_layer(model, batch, dtype)
    k = int(g["total"].argmax())
    return {"name": g["name"][k], **{p: int(g[p][k]) for p in ("ifmap", "weights", "ofmap", "total")}}


@dataclass(frozen=True)
class Exploration:
    """Result of :func:`explore`; all sizes in bytes, times in seconds, energies in joules.

    Per model (keyed by name, in the order given): ``size[(n, dtype)]`` (Fig. 10 (a)), ``fc_bytes[n]`` (BF16 FC
    weights), ``glb[(n, dtype, batch)]`` (Fig. 11, every batch of ``batches`` and of :data:`GLB_BATCHES`),
    ``dram_batch[(n, dtype, batch)]`` at the paper's 12 MB (Fig. 12 (a), (b), every batch of ``batches`` and
    :data:`DRAM_BATCH`), ``dram_glb[(n, dtype, mb)]`` at batch 8 (Fig. 12 (c), (d)), ``ret[n]`` (the
    :class:`~model.stt_ai.dse.RetentionResult` at 42x42 MACs, batch 16, BF16 cycles: Fig. 13), ``ret_pe[n]`` (max, the
    42x42-PE reading), ``ret_int8[n]`` (max, :data:`INT8_CYCLES` per step), ``ret_vs_array[n]`` and
    ``ret_vs_batch[n]`` (max over the pairs, one per entry of ``arrays`` / ``ret_batches``: Fig. 14) and
    ``psum[(n, dtype)]`` (largest partial ofmap: Fig. 18).
    """

    models: dict
    batches: tuple
    glb_sizes_mb: tuple
    arrays: tuple
    ret_batches: tuple
    size: dict
    fc_bytes: dict
    glb: dict
    dram_batch: dict
    dram_glb: dict
    ret: dict
    ret_pe: dict
    ret_int8: dict
    ret_vs_array: dict
    ret_vs_batch: dict
    psum: dict

    @property
    def names(self) -> list:
        return list(self.models)


def explore(models: Iterable, batches: Sequence[int], glb_sizes_mb: Sequence[float], arrays: Sequence[int],
            ret_batches: Sequence[int], progress: Callable = _no_progress, mapper: Callable | None = None) -> Exploration:
    """Run every :mod:`model.stt_ai.dse` formula of the report over ``models``.

    Parameters
    ----------
    models : iterable
        :class:`~model.zoo.Model` objects or zoo names.
    batches : sequence of int
        Batches of Fig. 11 and Fig. 12 (a), (b).
    glb_sizes_mb : sequence of float
        GLB capacities (MB = 2**20 B) of Fig. 12 (c), (d).
    arrays : sequence of int
        Square array sizes N (N x N MACs) of Fig. 14 (a).
    ret_batches : sequence of int
        Batches of Fig. 14 (b).
    progress : callable
        ``progress(iterable, desc=...)`` wrapper (e.g. a progress bar); default: none.
    mapper : callable, optional
        ``mapper(func, models) -> list`` evaluates the models (e.g. as Dask tasks); default serial.
    """
    ms = {}
    for m in progress(list(models), desc="zoo"):
        m = dse.resolve_model(m)
        ms[m.name] = m
    batches, glb_sizes_mb, arrays, ret_batches = (tuple(v) for v in (batches, glb_sizes_mb, arrays, ret_batches))
    one = lambda m: _explore_model(m, batches, glb_sizes_mb, arrays, ret_batches)
    parts = mapper(one, list(ms.values())) if mapper is not None else \
        [one(m) for m in progress(list(ms.values()), desc="models")]
    tables = {}
    for part in parts:
        for key, table in part.items():
            tables.setdefault(key, {}).update(table)
    return Exploration(ms, batches, glb_sizes_mb, arrays, ret_batches, *(tables.get(k, {}) for k in _TABLES))


_TABLES = ("size", "fc_bytes", "glb", "dram_batch", "dram_glb", "ret", "ret_pe", "ret_int8", "ret_vs_array",
           "ret_vs_batch", "psum")


def _explore_model(m, batches, glb_sizes_mb, arrays, ret_batches) -> dict:
    """Every table entry of one model (:func:`explore`)."""
    n = m.name
    glb_b = sorted(set(batches) | set(GLB_BATCHES))
    dram_b = sorted(set(batches) | {DRAM_BATCH})
    return {
        "size": {(n, d): dse.model_size_bytes(m, d) for d in DTYPES},
        "fc_bytes": {n: fc_weight_bytes(m, "bf16")},
        "glb": {(n, d, b): dse.glb_required(m, b, d) for d in DTYPES for b in glb_b},
        "dram_batch": {(n, d, b): dse.extra_dram(m, b, d, dse.GLB_PAPER_BYTES) for d in DTYPES for b in dram_b},
        "dram_glb": {(n, d, g): dse.extra_dram(m, DRAM_BATCH, d, g * dse.MB) for d in DTYPES for g in glb_sizes_mb},
        "ret": {n: dse.retention(m, PAPER_ARRAY, RETENTION_BATCH)},
        "ret_pe": {n: dse.retention(m, dse.parse_array(PAPER_ARRAY, unit="pe"), RETENTION_BATCH).max},
        "ret_int8": {n: dse.retention(m, PAPER_ARRAY, RETENTION_BATCH, conv_cycles=INT8_CYCLES,
                                      fc_cycles=INT8_CYCLES).max},
        "ret_vs_array": {n: [dse.retention(m, f"{a}x{a}", RETENTION_BATCH).max for a in arrays]},
        "ret_vs_batch": {n: [dse.retention(m, PAPER_ARRAY, b).max for b in ret_batches]},
        "psum": {(n, d): int(dse.partial_ofmap_bytes(m, d).max()) for d in DTYPES},
    }


@dataclass(frozen=True)
class Summary:
    """The paper's text-level quantities over an :class:`Exploration` (:func:`summarize`).

    Model lists keep the exploration's order. Capacities: the paper's 12 MB GLB and 52 KB (BF16) / 26 KB (int8)
    scratchpad; DRAM numbers at 12 MB and batch 8.
    """

    largest: str                #: largest model in BF16 (Fig. 10 (a), "280MB")
    total_size: dict            #: {dtype: bytes of all models together}
    fc_largest: str             #: model with the most FC weight bytes ("around 200MB")
    glb_int8_b2: int            #: largest GLB need, int8, batch <= 2 ("12MB would be enough")
    glb_int8_b2_model: str      #: the model that needs it (first one at batch 2)
    glb_int8_b2_layer: dict     #: its worst layer (:func:`glb_layer_breakdown`, int8, batch 2)
    over_int8_b2: list          #: models needing more than 12 MB, int8, batch 2
    glb_bf16_b1: int            #: largest GLB need, BF16, batch 1
    over_bf16_b1: list
    over_int8_b8: list          #: ("a few, e.g. Darknet53, VGG19, Nasnetlarge, Xception")
    latency_int8: dict          #: {model: extra DRAM seconds}, int8 ("zero for most", "around 2ms for few")
    latency_bf16: dict          #: {model: extra DRAM seconds}, BF16 ("within 10ms")
    zero_latency_int8: list
    max_latency_bf16_exact: float  #: max BF16 latency over the models that are not approximations
    zero_energy_int8: list      #: Fig. 12 (c): "reduces to zero" for most
    extra_dram_bf16: list       #: models with extra DRAM bytes, BF16 (Fig. 12 (d): "most models")
    worst_energy_bf16: str
    max_energy_bf16: float
    max_ret: float              #: largest retention, 42x42, batch 16, BF16 (Fig. 13: "less than 1.5s")
    max_ret_model: str
    max_ret_pair: tuple         #: (layer n-1, layer n) of that maximum
    below_half: list            #: models whose maximum retention is < 0.5 s ("most models")
    max_ret_pe: float           #: the 42x42-PE reading
    max_ret_int8: float
    max_ret_vs_array: float     #: over the Fig. 14 (a) sweep
    max_ret_vs_batch: float     #: over the Fig. 14 (b) sweep
    fit_scratchpad_bf16: list   #: models whose largest partial ofmap fits 52 KB BF16 (Fig. 18: "most models")
    fit_scratchpad_int8: list   #: ... fits 26 KB int8


def summarize(ex: Exploration) -> Summary:
    """Derive the quantities of the paper's text (Section V.A/B/E) from ``ex``."""
    names = ex.names
    cap = dse.GLB_PAPER_BYTES
    models = ex.models
    glb_b2 = max(names, key=lambda n: ex.glb[(n, "int8", 2)])
    lat8 = {n: ex.dram_batch[(n, "int8", DRAM_BATCH)]["seconds"] for n in names}
    lat16 = {n: ex.dram_batch[(n, "bf16", DRAM_BATCH)]["seconds"] for n in names}
    energy16 = {n: ex.dram_batch[(n, "bf16", DRAM_BATCH)]["joules"] for n in names}
    arg = max(names, key=lambda n: ex.ret[n].max)
    r = ex.ret[arg]
    return Summary(
        largest=max(names, key=lambda n: ex.size[(n, "bf16")]),
        total_size={d: sum(ex.size[(n, d)] for n in names) for d in DTYPES},
        fc_largest=max(names, key=lambda n: ex.fc_bytes[n]),
        glb_int8_b2=max(ex.glb[(n, "int8", b)] for n in names for b in (1, 2)),
        glb_int8_b2_model=glb_b2,
        glb_int8_b2_layer=glb_layer_breakdown(models[glb_b2], 2, "int8"),
        over_int8_b2=[n for n in names if ex.glb[(n, "int8", 2)] > cap],
        glb_bf16_b1=max(ex.glb[(n, "bf16", 1)] for n in names),
        over_bf16_b1=[n for n in names if ex.glb[(n, "bf16", 1)] > cap],
        over_int8_b8=[n for n in names if ex.glb[(n, "int8", 8)] > cap],
        latency_int8=lat8,
        latency_bf16=lat16,
        zero_latency_int8=[n for n in names if lat8[n] == 0],
        max_latency_bf16_exact=max(lat16[n] for n in names if not models[n].approximate),
        zero_energy_int8=[n for n in names if ex.dram_batch[(n, "int8", DRAM_BATCH)]["joules"] == 0],
        extra_dram_bf16=[n for n in names if ex.dram_batch[(n, "bf16", DRAM_BATCH)]["bytes"] > 0],
        worst_energy_bf16=max(names, key=lambda n: energy16[n]),
        max_energy_bf16=max(energy16.values()),
        max_ret=r.max,
        max_ret_model=arg,
        max_ret_pair=(r.prev[r.argmax], r.next[r.argmax]),
        below_half=[n for n in names if ex.ret[n].max < MOST_RETENTION_S],
        max_ret_pe=max(ex.ret_pe.values()),
        max_ret_int8=max(ex.ret_int8.values()),
        max_ret_vs_array=max(max(v) for v in ex.ret_vs_array.values()),
        max_ret_vs_batch=max(max(v) for v in ex.ret_vs_batch.values()),
        fit_scratchpad_bf16=[n for n in names if ex.psum[(n, "bf16")] <= dse.SCRATCHPAD_PAPER_BYTES],
        fit_scratchpad_int8=[n for n in names if ex.psum[(n, "int8")] <= dse.SCRATCHPAD_PAPER_BYTES // 2],
    )
