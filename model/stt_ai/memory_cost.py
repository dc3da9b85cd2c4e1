"""Area, leakage and access energy of an SRAM or STT-MRAM global buffer, and the accelerator totals of Table III.

Source: ``stt-ai-mishty-sadi.txt``, Sections I, V.C-V.F, Table III and Fig. 16: the accelerator with a 12 MB
STT-MRAM buffer (Δ_PT_GB = 27.5) saves 75 % area and 3 % power against the same with a 12 MB SRAM buffer; STT-AI
Ultra (6 MB at Δ 27.5 + 6 MB at Δ 17.5) saves 75.4 % and 3.5 %. The paper's memory numbers come from a modified
Destiny (its ref. [17]) and a Synopsys 14 nm memory compiler, which it does not tabulate; here every parameter is
named with its source in :data:`SOURCES` (the paper where it gives a number, otherwise a cited typical value or
"ours", marked as an assumption). Nothing is fitted to Table III.

Model (per macro of ``bits`` bits, F = 14 nm)
--------------------------------------------
* **Cell area.** SRAM: one 6T cell, :attr:`MemoryTech.sram_cell_um2`. STT-MRAM 1T-1MTJ:
  ``max(min_cell_f2 · F², mram_cell_scale · A_SRAM · (Δ / delta_base) ** area_delta_exponent)``. The paper: "silicon
  results show that MRAM area scaled by 70 % compared to SRAM at 14 nm [6]" (Section V.C; read as 70 % smaller,
  ``mram_cell_scale`` = 0.3, at the Δ = 60 base case of [6]) and 6F² as the theoretical minimum (Section I). Scaling
  Δ down shrinks the cell (Section IV.B.1: "scaling down of thermal stability factor will improve area efficiency by
  increasing the memory bit-cell density"): its access transistor is sized for the write current, ∝ I_c ∝ Δ
  (eq. (13)), hence exponent 1 (ours); exponent 0 is the variant without it.
* **Macro area** = bits · cell / ``array_efficiency`` (the periphery: decoders, sense amplifiers, drivers, I/O).
* **Leakage** per bit: SRAM cells leak, MRAM cells do not (only their periphery does); both per-bit values are
  Table III's (0.21 mW and 0.08 mW for 12 MB), so the 12 MB leakages reproduce Table III by construction. Not by
  construction: the 52 KB SRAM scratchpad then leaks 0.21 mW · 52 KB / 12 MB = 0.89 µW, Table III's "9E-4" mW.
* **Access energy** per bit = periphery + cell. Periphery: Horowitz's (ISSCC 2014) 100 pJ per 64-bit access of a
  1 MB SRAM at 45 nm, scaled ∝ F to 14 nm (switched capacitance ∝ F at equal voltage, ours) and ∝ (A / A_1MB)^0.5
  with the macro's area A (the H-tree wires that dominate a large array's access energy grow with its side; CACTI,
  ours as the exponent), so a denser MRAM macro also has shorter wires. Cell: SRAM none beyond the Horowitz figure;
  MRAM ``V_DD · I · t``: write current I_w = (I_w/I_c) · I_c(Δ), I_c(Δ) = J_SW · A_MTJ(Δ_base) · Δ / Δ_base (eq. (13)
  is linear in Δ; J_SW = 5.5 MA/cm² from the paper's base-case ref. [6]) for the write pulse of eq. (16) at the
  target WER (:func:`model.stt_ai.stt_mram.write_pulse_width`); read current (I_r/I_c) · I_c(Δ) for the 4 ns sensing
  time of ref. [13].
* **Energy over an inference**: reads and writes (bits) per macro times their per-bit energies, plus leakage times
  the inference time (cycles / clock): :func:`inference_energy`; the bits come from the run
  (:meth:`model.stt_ai.glb.GlobalBuffer.counters`, ``banks[...]["bits_read"/"bits_written"]``).

What cannot be reproduced here, and what the percentages depend on
-----------------------------------------------------------------
The reconfigurable core's own area and power (Table III row 1: 4.08 mm², 954 mW dynamic, 0.91 mW leakage, 42 x 42
MACs, Synopsys 14 nm standard cells placed and routed in ICC2) need a standard-cell library and a P&R flow we do not
have; :data:`PAPER_CORE` takes them as a given input, named as the paper's. The savings are
``1 − (core + MRAM + scratchpad) / (core + SRAM)``: with Table III's rows, area (16.20 − 1.01) / 20.28 = 74.9 % and
power (1004.13 − 972.99) / 1004.13 = 3.1 %. The area saving is set by the SRAM share of the baseline (16.2 of 20.28
mm²), the power saving by the ~31 mW the buffer saves next to a ~955 mW core: any memory model changes the 3 %
only through that difference, and a core of half the power would double it.

Table III as printed (the text's table is OCR-garbled in two cells, reconstructed from the totals): the 12 MB SRAM
row reads "10.2" / "18.08" mm² and "40.90" mW; the baseline total (row 7, 20.28 mm², 1003 mW, 1.13 mW) minus the
core (row 1) gives 16.20 mm², 49 mW, 0.22 mW, so the cells are 16.2 mm² and 48.90 mW (:data:`PAPER_TABLE3`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from model.checks import check_choice, check_int, check_real
from model.stt_ai.dse import CLOCK_HZ, GLB_PAPER_BYTES, MB, SCRATCHPAD_PAPER_BYTES
from model.stt_ai.stt_mram import TAU_WRITE_S, write_pulse_width

__all__ = ["MemoryTech", "DEFAULT_TECH", "PAPER_TEXT_CELLS", "SOURCES", "MacroCost", "CoreCost", "PAPER_CORE",
           "PAPER_TABLE3", "PAPER_SAVINGS", "PAPER_DELTA_GLB", "PAPER_DELTA_RELAXED", "sram_cell_um2",
           "mram_cell_um2", "critical_current_a", "periphery_energy_j", "sram_macro", "mram_macro", "glb_macros",
           "scratchpad_macro", "inference_energy", "accelerator_totals", "savings", "paper_savings", "table3"]

#: Δ_PT_GB of the paper's buffer (Section V.C, Table III: "Δ = 27.5") and of STT-AI Ultra's relaxed bank (V.D: 17.5).
PAPER_DELTA_GLB = 27.5
PAPER_DELTA_RELAXED = 17.5


@dataclass(frozen=True)
class MemoryTech:
    """Technology parameters of the memory model (each one's source in :data:`SOURCES`; SI units unless named)."""

    feature_nm: float = 14.0
    sram_cell_um2: float = 0.0588
    mram_cell_scale: float = 0.30
    mram_min_cell_f2: float = 6.0
    delta_base: float = 60.0
    area_delta_exponent: float = 1.0
    array_efficiency: float = 0.7
    sram_leak_w_per_bit: float = 0.21e-3 / (12 * MB * 8)
    mram_leak_w_per_bit: float = 0.08e-3 / (12 * MB * 8)
    e_ref_j_per_bit: float = 100e-12 / 64
    e_ref_feature_nm: float = 45.0
    e_ref_bits: int = 8 * MB
    periphery_area_exponent: float = 0.5
    vdd_v: float = 0.8
    j_sw_a_per_m2: float = 5.5e10
    mtj_diameter_nm: float = 40.0
    i_write_ratio: float = 2.0
    wer: float = 1e-8
    tau_write_s: float = TAU_WRITE_S
    i_read_ratio: float = 0.3
    t_read_s: float = 4e-9

    def __post_init__(self):
        for name, v in asdict(self).items():
            if name == "e_ref_bits":
                check_int(name, v, min=1, type_error=False)
            elif name in ("area_delta_exponent", "periphery_area_exponent"):
                check_real(name, v, min=0, type_error=False)
            elif name == "array_efficiency":
                check_real(name, v, min=0, max=1, min_open=True, type_error=False)
            elif name == "mram_cell_scale":
                check_real(name, v, min=0, min_open=True, type_error=False)
            elif name == "i_read_ratio":
                check_real(name, v, min=0, max=1, max_open=True, type_error=False)
            elif name == "i_write_ratio":
                check_real(name, v, min=1, min_open=True, type_error=False)
            elif name == "wer":
                check_real(name, v, min=0, max=1, min_open=True, max_open=True, type_error=False)
            elif name in ("sram_leak_w_per_bit", "mram_leak_w_per_bit"):
                check_real(name, v, min=0, type_error=False)
            else:
                check_real(name, v, min=0, min_open=True, type_error=False)

    @property
    def f2_um2(self) -> float:
        """One F² in µm²."""
        return (self.feature_nm * 1e-3) ** 2


#: The model's defaults.
DEFAULT_TECH = MemoryTech()
#: The cell sizes the paper's text states (Section I, refs. [17], [18]): SRAM 100F², STT-MRAM 6F², no Δ dependence.
PAPER_TEXT_CELLS = MemoryTech(sram_cell_um2=100 * 0.014 ** 2, mram_cell_scale=6 / 100, area_delta_exponent=0.0)

SOURCES = {
    "feature_nm": "paper Section V.F: 14 nm (Synopsys 14 nm library and memory compiler)",
    "sram_cell_um2": "assumption: 0.0588 um^2, Intel's 14 nm high-density 6T cell (Natarajan et al., IEDM 2014), "
                     "300 F^2; the paper's text says 100 F^2 (Section I, refs. [17], [18]): PAPER_TEXT_CELLS",
    "mram_cell_scale": "paper Section V.C: 'MRAM area scaled by 70 % compared to SRAM at 14nm node [6]', read as an "
                       "MRAM cell 0.3 x the SRAM cell at the base-case Δ",
    "mram_min_cell_f2": "paper Section I: STT-MRAM's theoretical minimum 6F^2 (refs. [17], [18])",
    "delta_base": "paper Section V.C: the base case Δ = 60 of ref. [6] (10-year retention) that the 70 % refers to",
    "area_delta_exponent": "ours: the 1T-1MTJ cell is set by its access transistor, sized for the write current "
                           "∝ I_c ∝ Δ (eq. (13)); 0 = cell area independent of Δ",
    "array_efficiency": "assumption: 70 % cell area / macro area, NVSim/Destiny-class typical, as in "
                        "model/bcnn/cost.py; the same for SRAM and MRAM",
    "sram_leak_w_per_bit": "paper Table III row 2: 0.21 mW for the 12 MB SRAM (reproduces it by construction)",
    "mram_leak_w_per_bit": "paper Table III row 3: 0.08 mW for the 12 MB MRAM at Δ 27.5, Δ-independent (cells do "
                           "not leak, the periphery per bit does) (reproduces it by construction)",
    "e_ref_j_per_bit, e_ref_feature_nm, e_ref_bits": "Horowitz, ISSCC 2014 ('Computing's energy problem'): 100 pJ "
                                                     "per 64-bit access of a 1 MB SRAM at 45 nm",
    "periphery_area_exponent": "ours: access energy dominated by H-tree wires whose length grows with the macro "
                               "side, sqrt(area) (CACTI's observation for large arrays)",
    "vdd_v": "assumption: 0.8 V, a nominal 14 nm FinFET core supply; energy drawn = V_DD x I x t",
    "j_sw_a_per_m2": "paper ref. [6] (Sakhare et al., TED 2020, the base case): J_SW = 5.5 MA/cm^2",
    "mtj_diameter_nm": "assumption: 40 nm MTJ at the base-case Δ (tens of nm in 22-28 nm eMRAM); A_MTJ ∝ Δ below it "
                       "(eq. (12) at fixed thickness)",
    "i_write_ratio": "ours: I_w/I_c = 2, as the stt-delta report section",
    "wer": "paper Section V.C: target BER 1e-8 of the global buffer, used as the write error target of eq. (16)",
    "tau_write_s": "model.stt_ai.stt_mram.TAU_WRITE_S: 1 ns switching time of eq. (16)",
    "i_read_ratio": "ours: I_r/I_c = 0.3, as the stt-delta report section",
    "t_read_s": "paper ref. [13] (Wei et al., ISSCC 2019): 4 ns read sensing time",
}


# --------------------------------------------------------------------------------------------------- paper
@dataclass(frozen=True)
class CoreCost:
    """Area [mm²], dynamic and leakage power [W] of the accelerator's compute core."""

    area_mm2: float
    dynamic_w: float
    leakage_w: float

    def __post_init__(self):
        for name in ("area_mm2", "dynamic_w", "leakage_w"):
            check_real(name, getattr(self, name), min=0, type_error=False)


#: Table III row 1, the reconfigurable core with 42 x 42 MACs at 14 nm (a given input: needs a standard-cell library).
PAPER_CORE = CoreCost(4.08, 954e-3, 0.91e-3)

#: Table III as printed: (area mm², dynamic mW, leakage mW); the SRAM row's area and dynamic power reconstructed
#: from the baseline total (module docstring). ``scratchpad`` area: the text shows 0.060 and 0.009, and the STT-AI
#: total (5.09 = 4.08 + 1.01) includes neither.
PAPER_TABLE3 = {
    "core": (4.08, 954.0, 0.91),
    "sram_12mb": (16.2, 48.90, 0.21),
    "mram_12mb": (1.01, 17.61, 0.08),
    "mram_ultra": (0.93, 13.75, 0.06),
    "scratchpad": (0.060, 0.2, 9e-4),
    "baseline": (20.28, 1003.0, 1.13),
    "stt_ai": (5.09, 972.0, 0.99),
    "stt_ai_ultra": (5.0, 968.0, 0.98),
}
#: The savings the paper states (abstract, Section VII): (area, power) as fractions.
PAPER_SAVINGS = {"stt_ai": (0.75, 0.03), "stt_ai_ultra": (0.754, 0.035)}


def paper_savings(design: str) -> tuple[float, float]:
    """(area, power) saving of ``design`` (``"stt_ai"`` or ``"stt_ai_ultra"``) from Table III's printed totals
    (power = dynamic + leakage): 74.9 % / 3.1 % and 75.3 % / 3.5 %."""
    check_choice("design", design, tuple(PAPER_SAVINGS))
    a0, d0, l0 = PAPER_TABLE3["baseline"]
    a, d, l = PAPER_TABLE3[design]
    return 1 - a / a0, 1 - (d + l) / (d0 + l0)


# ---------------------------------------------------------------------------------------------- cells
def sram_cell_um2(tech: MemoryTech = DEFAULT_TECH) -> float:
    """Area of one 6T SRAM cell [µm²]."""
    return tech.sram_cell_um2


def _delta(delta) -> float:
    return check_real("delta", delta, min=0, min_open=True, type_error=False)


def mram_cell_um2(delta: float, tech: MemoryTech = DEFAULT_TECH) -> float:
    """Area of one 1T-1MTJ cell of Δ = ``delta`` [µm²] (module docstring: 70 % scaling at the base Δ, ∝ Δ^exponent,
    at least 6F²)."""
    d = _delta(delta)
    scaled = tech.mram_cell_scale * tech.sram_cell_um2 * (d / tech.delta_base) ** tech.area_delta_exponent
    return max(tech.mram_min_cell_f2 * tech.f2_um2, scaled)


def critical_current_a(delta: float, tech: MemoryTech = DEFAULT_TECH) -> float:
    """I_c [A] of a cell of Δ = ``delta``: J_SW · A_MTJ at the base Δ, times Δ / Δ_base (eq. (13) is linear in Δ)."""
    d = _delta(delta)
    area_m2 = math.pi * (tech.mtj_diameter_nm * 1e-9 / 2) ** 2
    return tech.j_sw_a_per_m2 * area_m2 * d / tech.delta_base


def _macro_area_mm2(bits: int, cell_um2: float, tech: MemoryTech) -> float:
    return bits * cell_um2 / tech.array_efficiency * 1e-6


def periphery_energy_j(area_mm2: float, tech: MemoryTech = DEFAULT_TECH) -> float:
    """Periphery (decoder, wires, sensing, I/O) energy per bit accessed of a macro of ``area_mm2``: Horowitz's 1 MB SRAM
    figure scaled ∝ F and ∝ (area / area of a 1 MB SRAM) ** periphery_area_exponent."""
    area_mm2 = check_real("area_mm2", area_mm2, min=0, min_open=True, type_error=False)
    ref_area = _macro_area_mm2(tech.e_ref_bits, tech.sram_cell_um2, tech)
    return (tech.e_ref_j_per_bit * tech.feature_nm / tech.e_ref_feature_nm
            * (area_mm2 / ref_area) ** tech.periphery_area_exponent)


# --------------------------------------------------------------------------------------------- macros
@dataclass(frozen=True)
class MacroCost:
    """One memory macro: ``bits`` bits, area [mm²], leakage [W], energy per bit read / written [J]."""

    name: str
    bits: int
    area_mm2: float
    leakage_w: float
    read_j_per_bit: float
    write_j_per_bit: float
    cell_um2: float
    delta: float | None = None
    parts: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _bits(bits) -> int:
    return check_int("bits", bits, min=1, type_error=False)


def sram_macro(bits: int, tech: MemoryTech = DEFAULT_TECH, name: str = "sram") -> MacroCost:
    """An SRAM macro of ``bits`` bits (read and write cost the same per bit, the periphery figure)."""
    bits = _bits(bits)
    area = _macro_area_mm2(bits, tech.sram_cell_um2, tech)
    e = periphery_energy_j(area, tech)
    return MacroCost(name, bits, area, bits * tech.sram_leak_w_per_bit, e, e, tech.sram_cell_um2,
                     parts={"periphery_j_per_bit": e})


def mram_macro(bits: int, delta: float, tech: MemoryTech = DEFAULT_TECH, name: str = "mram",
               periphery_area_mm2: float | None = None) -> MacroCost:
    """An STT-MRAM macro of ``bits`` bits of cells of Δ = ``delta`` (the nominal, guard-banded Δ they are built with).

    ``periphery_area_mm2`` is the area whose wires an access crosses (default the macro's own; a bank of a buffer
    whose banks are accessed together crosses the whole buffer). ``parts`` holds the periphery energy, I_c, the
    write pulse of eq. (16) at ``tech.wer`` and the cell's write and read energies ``V_DD · I · t``.
    """
    bits = _bits(bits)
    d = _delta(delta)
    cell = mram_cell_um2(d, tech)
    area = _macro_area_mm2(bits, cell, tech)
    e_per = periphery_energy_j(area if periphery_area_mm2 is None else periphery_area_mm2, tech)
    i_c = critical_current_a(d, tech)
    t_w = float(write_pulse_width(d, tech.i_write_ratio, tech.wer, tech.tau_write_s))
    e_w = tech.vdd_v * tech.i_write_ratio * i_c * t_w
    e_r = tech.vdd_v * tech.i_read_ratio * i_c * tech.t_read_s
    return MacroCost(name, bits, area, bits * tech.mram_leak_w_per_bit, e_per + e_r, e_per + e_w, cell, d,
                     parts={"periphery_j_per_bit": e_per, "i_c_a": i_c, "write_pulse_s": t_w,
                            "cell_write_j": e_w, "cell_read_j": e_r})


def scratchpad_macro(tech: MemoryTech = DEFAULT_TECH, capacity_bytes: int = SCRATCHPAD_PAPER_BYTES) -> MacroCost:
    """The SRAM scratchpad of the MRAM designs (Section V.E: 52 KB)."""
    capacity_bytes = check_int("capacity_bytes", capacity_bytes, min=1, type_error=False)
    return sram_macro(8 * capacity_bytes, tech, "scratchpad")


def glb_macros(kind: str, capacity_bytes: int = GLB_PAPER_BYTES, *, delta: float = PAPER_DELTA_GLB,
               delta_relaxed: float = PAPER_DELTA_RELAXED, robust_fraction: float = 0.5,
               tech: MemoryTech = DEFAULT_TECH) -> list[MacroCost]:
    """The global buffer's macros: ``"sram"`` (one SRAM), ``"mram"`` (one MRAM of Δ = ``delta``) or ``"ultra"``
    (STT-AI Ultra: ``robust_fraction`` of the bits at ``delta``, named ``"robust"``, the rest at ``delta_relaxed``,
    ``"relaxed"``; the names of :class:`model.stt_ai.glb.GlobalBuffer`'s banks). Ultra's two banks hold halves of
    the same words and are accessed together, so their periphery energy is that of the whole buffer's area."""
    check_choice("kind", kind, ("sram", "mram", "ultra"))
    bits = 8 * check_int("capacity_bytes", capacity_bytes, min=1, type_error=False)
    if kind == "sram":
        return [sram_macro(bits, tech, "sram")]
    if kind == "mram":
        return [mram_macro(bits, delta, tech, "main")]
    f = check_real("robust_fraction", robust_fraction, min=0, max=1, min_open=True, max_open=True, type_error=False)
    robust = max(1, min(bits - 1, round(bits * f)))
    whole = _macro_area_mm2(robust, mram_cell_um2(delta, tech), tech) + \
        _macro_area_mm2(bits - robust, mram_cell_um2(delta_relaxed, tech), tech)
    return [mram_macro(robust, delta, tech, "robust", whole),
            mram_macro(bits - robust, delta_relaxed, tech, "relaxed", whole)]


# ---------------------------------------------------------------------------------------------- totals
def inference_energy(macros, bits_read, bits_written, cycles: int, clock_hz: float = CLOCK_HZ) -> dict:
    """Energy of the macros over one measured run: accesses plus leakage over ``cycles / clock_hz`` seconds.

    Parameters
    ----------
    macros : sequence of MacroCost
    bits_read, bits_written : sequence of int
        Bits read / written in each macro (same order), >= 0.
    cycles : int
        Length of the run in clock cycles, >= 1.
    clock_hz : float
        Clock, > 0 (default 1 GHz, Table II).

    Returns
    -------
    dict
        ``seconds``, ``read_j``, ``write_j``, ``access_j``, ``leakage_j``, ``total_j``, ``power_w`` (total / seconds)
        and ``macros`` (the same per macro, by name).
    """
    macros = list(macros)
    bits_read, bits_written = list(bits_read), list(bits_written)
    if not macros or len(bits_read) != len(macros) or len(bits_written) != len(macros):
        raise ValueError(f"bits_read and bits_written need one entry per macro ({len(macros)}), got "
                         f"{len(bits_read)} and {len(bits_written)}")
    cycles = check_int("cycles", cycles, min=1, type_error=False)
    clock_hz = check_real("clock_hz", clock_hz, min=0, min_open=True, unit="Hz", type_error=False)
    seconds = cycles / clock_hz
    per = {}
    for m, r, w in zip(macros, bits_read, bits_written):
        r = check_int(f"bits_read of {m.name}", r, min=0, type_error=False)
        w = check_int(f"bits_written of {m.name}", w, min=0, type_error=False)
        e_r, e_w, e_l = r * m.read_j_per_bit, w * m.write_j_per_bit, m.leakage_w * seconds
        per[m.name] = {"read_j": e_r, "write_j": e_w, "leakage_j": e_l, "total_j": e_r + e_w + e_l}
    out = {k: sum(p[k] for p in per.values()) for k in ("read_j", "write_j", "leakage_j", "total_j")}
    out.update(seconds=seconds, access_j=out["read_j"] + out["write_j"], power_w=out["total_j"] / seconds,
               macros=per)
    return out


def accelerator_totals(core: CoreCost, macros, memory_power_w: float) -> dict:
    """Area [mm²] and power [W] of ``core`` plus the memory ``macros`` drawing ``memory_power_w`` on average
    (:func:`inference_energy`'s ``power_w``, leakage included)."""
    p = check_real("memory_power_w", memory_power_w, min=0, type_error=False)
    area = core.area_mm2 + sum(m.area_mm2 for m in macros)
    return {"area_mm2": area, "power_w": core.dynamic_w + core.leakage_w + p}


def savings(baseline: dict, design: dict) -> dict:
    """``area`` and ``power`` saving of ``design`` against ``baseline`` (:func:`accelerator_totals` dicts), as
    fractions: 1 − design / baseline (the paper's 75 % / 3 %)."""
    return {"area": 1 - design["area_mm2"] / baseline["area_mm2"], "power": 1 - design["power_w"] / baseline["power_w"]}


def table3(bits_read: int, bits_written: int, cycles: int, *, clock_hz: float = CLOCK_HZ,
           scratchpad_bits_read: int = 0, scratchpad_bits_written: int = 0, capacity_bytes: int = GLB_PAPER_BYTES,
           delta: float = PAPER_DELTA_GLB, delta_relaxed: float = PAPER_DELTA_RELAXED, robust_fraction: float = 0.5,
           tech: MemoryTech = DEFAULT_TECH, core: CoreCost = PAPER_CORE) -> dict:
    """Table III's three accelerators for one measured run: baseline (core + SRAM buffer), STT-AI (core + MRAM +
    scratchpad), STT-AI Ultra (core + two MRAM banks + scratchpad).

    Parameters
    ----------
    bits_read, bits_written : int
        Global-buffer bits read / written by the run (all banks together).
    cycles : int
        Length of the run in cycles, >= 1.
    clock_hz : float
        Clock, > 0.
    scratchpad_bits_read, scratchpad_bits_written : int
        The run's scratchpad traffic. The MRAM designs serve it from the 52 KB SRAM scratchpad (Section IV.D); the
        baseline has none (Table III row 7: core and SRAM), so its SRAM buffer serves it.
    capacity_bytes, delta, delta_relaxed, robust_fraction, tech
        As :func:`glb_macros`; Ultra's banks get ``robust_fraction`` / the rest of the bits accessed.
    core : CoreCost
        The core, a given input (default :data:`PAPER_CORE`).

    Returns
    -------
    dict
        ``{"baseline" | "stt_ai" | "stt_ai_ultra": {"macros", "energy", "area_mm2", "power_w"}}``, the two MRAM
        designs also ``"saving"`` (``area``, ``power`` fractions against the baseline).
    """
    r, w = (check_int(n, v, min=0, type_error=False) for n, v in (("bits_read", bits_read),
                                                                   ("bits_written", bits_written)))
    sr, sw = (check_int(n, v, min=0, type_error=False) for n, v in (("scratchpad_bits_read", scratchpad_bits_read),
                                                                     ("scratchpad_bits_written",
                                                                      scratchpad_bits_written)))
    sp = scratchpad_macro(tech)
    designs = {
        "baseline": (glb_macros("sram", capacity_bytes, tech=tech), [r + sr], [w + sw]),
        "stt_ai": (glb_macros("mram", capacity_bytes, delta=delta, tech=tech) + [sp], [r, sr], [w, sw]),
    }
    ultra = glb_macros("ultra", capacity_bytes, delta=delta, delta_relaxed=delta_relaxed,
                       robust_fraction=robust_fraction, tech=tech)
    rr, wr = round(r * robust_fraction), round(w * robust_fraction)
    designs["stt_ai_ultra"] = (ultra + [sp], [rr, r - rr, sr], [wr, w - wr, sw])
    out = {}
    for name, (macros, reads, writes) in designs.items():
        e = inference_energy(macros, reads, writes, cycles, clock_hz)
        out[name] = {"macros": macros, "energy": e, **accelerator_totals(core, macros, e["power_w"])}
    for name in ("stt_ai", "stt_ai_ultra"):
        out[name]["saving"] = savings(out["baseline"], out[name])
    return out
