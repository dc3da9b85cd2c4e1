"""Behavioural dual-mode 2T1R SOT-MRAM sub-array: memory write/read and in-memory AND/OR (compute mode).

Source: ``sot-mram-bcnn-fan-angizi.txt``, Section II.B, Figs. 2b-c and 3e. Every cell is an SOT-MRAM device (MTJ on
a spin-Hall-metal strip) with a write transistor (WWL) and a read transistor (RWL). The paper's conventions:

* **Memory write** (II.B): WWL of the row high, its SL grounded, every other WWL/SL off; the WBL driver of a
  column at +V writes '1' (MTJ anti-parallel, R_AP), at -V writes '0' (parallel, R_P). One row is written per
  write operation, all columns in parallel (:meth:`SOTSubArray.write_row`, biasing in :meth:`bias`).
* **Memory read**: RWL of the row high, a read current through MTJ + read transistor to ground; a voltage-mode
  sense amplifier per column (RBL) compares ``V = I_read * R_path`` with the memory reference,
  ``(EN_M, EN_AND, EN_OR) = (1, 0, 0)``, R_ref midway between the P and AP paths: output '1' for R_AP.
* **Compute mode**: two RWLs of one column active at once, the two paths in parallel. AND: R_ref midway between
  ``R_AP // R_P`` and ``R_AP // R_AP`` (only '1','1' is above it); OR: midway between ``R_P // R_P`` and
  ``R_P // R_AP``. The paper takes the references from the parallel resistances "of the parallelly connected
  SOT-MRAMs and their cascaded access transistors"; we do the same with the nominal path resistances
  ``R_MTJ + R_access`` ("midpoint" read as the arithmetic mean of the two resistances).

Device parameters and variation (the paper gives none: its MTJ resistance comes from an NEGF model [11] that it
does not tabulate), chosen here and named in :class:`SOTDevice`: R_P = 5 kOhm, TMR = 150 %, read-transistor
on-resistance 1 kOhm, read current 20 uA. Device-to-device variation is static (drawn once per sub-array from
``seed``): every cell has its own R_P, R_AP and read-transistor resistance (independent Gaussians with the given
sigma/mu; the sigma/mu are limited to 0.2 so that a negative resistance has probability < 3e-7), every column's
sense amplifier its own input-referred offset (Gaussian, volts). Writes are ideal (SOT switching with separate
read and write paths; write errors are not modelled).

Sense margins and per-operation error rates: :func:`sense_margins` (nominal) and :func:`error_rates` (analytic:
the exact Gaussian conditional probability integrated on a fine grid) against :func:`error_rates_mc`
(Monte Carlo with a 95 % interval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from model.checks import check_int, check_real
from model.memory import pack_rows, unpack_rows

__all__ = ["SOTDevice", "SOTSubArray", "SenseProgram", "OPS", "sense_margins", "error_rates", "error_rates_mc",
           "references"]

#: Sense operations: memory read of one row, compute-mode AND / OR of two rows of the same columns.
OPS = ("read", "and", "or")
_OP_CODE = {"and": 1, "or": 2}


@dataclass(frozen=True)
class SOTDevice:
    """Device and sense parameters of the sub-array (all our choice; the paper tabulates none).

    Parameters
    ----------
    r_p : float
        MTJ parallel resistance in ohms (default 5 kOhm; typical of the perpendicular MTJs of [11]).
    tmr : float
        Tunnel magnetoresistance ratio, ``R_AP = R_P * (1 + tmr)`` (default 1.5 = 150 %).
    r_access : float
        Read-transistor on-resistance in ohms (default 1 kOhm, a minimum-size 45 nm NMOS at V_DD).
    i_read : float
        Read current of the voltage-mode sense amplifier in amperes (default 20 uA, below the SOT critical current
        of the strip and far below the MTJ's STT switching current).
    sigma_rp, sigma_rap, sigma_access : float
        Device-to-device sigma/mu of R_P, R_AP and the read transistor, each in [0, 0.2].
    sa_offset : float
        Standard deviation of the sense amplifier's input-referred offset in volts (>= 0).
    """

    r_p: float = 5e3
    tmr: float = 1.5
    r_access: float = 1e3
    i_read: float = 20e-6
    sigma_rp: float = 0.0
    sigma_rap: float = 0.0
    sigma_access: float = 0.0
    sa_offset: float = 0.0

    def __post_init__(self):
        check_real("r_p", self.r_p, min=0, min_open=True, unit="ohm")
        check_real("tmr", self.tmr, min=0, min_open=True)
        check_real("r_access", self.r_access, min=0, unit="ohm")
        check_real("i_read", self.i_read, min=0, min_open=True, unit="A")
        for name in ("sigma_rp", "sigma_rap", "sigma_access"):
            check_real(name, getattr(self, name), min=0, max=0.2)
        check_real("sa_offset", self.sa_offset, min=0, unit="V")

    @property
    def r_ap(self) -> float:
        return self.r_p * (1 + self.tmr)

    @property
    def ideal(self) -> bool:
        return self.sigma_rp == self.sigma_rap == self.sigma_access == self.sa_offset == 0

    def with_variation(self, sigma: float, sa_offset: float | None = None) -> "SOTDevice":
        """The same device with sigma/mu ``sigma`` on R_P, R_AP and the read transistor (and ``sa_offset``)."""
        return replace(self, sigma_rp=sigma, sigma_rap=sigma, sigma_access=sigma,
                       sa_offset=self.sa_offset if sa_offset is None else sa_offset)

    def path(self, state: int) -> tuple[float, float]:
        """Mean and standard deviation of one cell's read path (MTJ + read transistor) in state 0 (P) or 1 (AP)."""
        r = self.r_ap if state else self.r_p
        s = self.sigma_rap if state else self.sigma_rp
        return r + self.r_access, math.hypot(s * r, self.sigma_access * self.r_access)


def _par(a, b):
    return a * b / (a + b)



def references(device: SOTDevice) -> dict[str, float]:
    """Reference resistances (ohms) of the three sense modes, from the nominal path resistances (Section II.B)."""
    p, ap = device.r_p + device.r_access, device.r_ap + device.r_access
    return {"read": (p + ap) / 2, "and": (_par(ap, p) + _par(ap, ap)) / 2, "or": (_par(p, p) + _par(p, ap)) / 2}


def _cases(op: str):
    """(stored states, correct output) of every input combination of ``op``."""
    if op == "read":
        return [((0,), 0), ((1,), 1)]
    f = (lambda a, b: a & b) if op == "and" else (lambda a, b: a | b)
    return [((a, b), f(a, b)) for a in (0, 1) for b in (0, 1)]


def sense_margins(device: SOTDevice) -> dict[str, float]:
    """Nominal sense margin of each operation in volts: ``I_read * min |R_path - R_ref|`` over its input cases."""
    refs = references(device)
    out = {}
    for op in OPS:
        rs = []
        for states, _ in _cases(op):
            paths = [device.path(s)[0] for s in states]
            rs.append(paths[0] if len(paths) == 1 else _par(*paths))
        out[op] = device.i_read * min(abs(r - refs[op]) for r in rs)
    return out


def _norm_sf(z):
    from scipy.special import ndtr
    return ndtr(-np.asarray(z, dtype=float))


def error_rates(device: SOTDevice, points: int = 4001) -> dict[str, float]:
    """Per-operation error probability, averaged over the equally likely input combinations (analytic).

    Read: the path is Gaussian and the offset Gaussian, so ``P = Q(margin / sqrt(sigma_R^2 I^2 + sigma_os^2))``.
    AND/OR: the output is 1 when ``R1 // R2 > R_ref + o / I``. Given the first path R1 and the offset o, this is
    ``R2 > 1 / (1 / T - 1 / R1)`` with ``T = R_ref + o / I`` (impossible when ``R1 <= T``). Without offset that is
    a Gaussian tail of R2 given R1, integrated over R1 by a trapezoid sum on ``points`` points over +-8 sigma; with
    an offset, given R1 and R2 it is the Gaussian CDF ``Phi(I (R1 // R2 - R_ref) / sigma_os)``, integrated over
    R1 and R2 on a 2-D grid (both integrands are smooth, the sums accurate to ~1e-6 absolute).
    """
    refs = references(device)
    out = {}
    for op in OPS:
        errs = []
        for states, want in _cases(op):
            ref = refs[op]
            if len(states) == 1:
                mu, sd = device.path(states[0])
                total = math.hypot(sd * device.i_read, device.sa_offset)
                margin = device.i_read * (mu - ref)
                if total == 0:
                    p1 = float(margin > 0)
                else:
                    p1 = float(1 - _norm_sf(margin / total))
            else:
                p1 = _p_parallel_one(device, states, ref, points)
            errs.append(1 - p1 if want else p1)
        out[op] = float(np.mean(errs))
    return out


def _grid(mu, sd, points, positive=True):
    if sd == 0:
        return np.array([mu]), np.array([1.0])
    x = np.linspace(max(mu - 8 * sd, 1e-3 * mu) if positive else mu - 8 * sd, mu + 8 * sd, points)
    w = np.exp(-0.5 * ((x - mu) / sd) ** 2)
    w[[0, -1]] *= 0.5
    return x, w / w.sum()


def _p_parallel_one(device, states, ref, points):
    """P(R1 // R2 > ref + o / I) for two independent Gaussian paths and a Gaussian offset o."""
    (m1, s1), (m2, s2) = device.path(states[0]), device.path(states[1])
    if device.sa_offset > 0:        # given both paths the offset gives a smooth Gaussian CDF: 2-D grid over R1, R2
        n = max(201, points // 5)
        r1, w1 = _grid(m1, s1, n)
        r2, w2 = _grid(m2, s2, n)
        margin = device.i_read * (_par(r1[:, None], r2[None, :]) - ref)
        return float(w1 @ (1 - _norm_sf(margin / device.sa_offset)) @ w2)
    r1, w1 = _grid(m1, s1, points)  # no offset: given R1 the output is 1 iff R2 > 1 / (1/ref - 1/R1)
    g = 1 / ref - 1 / r1
    thr = np.where(g > 0, 1 / np.where(g > 0, g, 1), np.inf)
    if s2 == 0:
        p = (m2 > thr).astype(float)
    else:
        p = np.where(np.isfinite(thr), _norm_sf((thr - m2) / s2), 0.0)
    return float(p @ w1)


def error_rates_mc(device: SOTDevice, n: int, seed: int) -> dict[str, tuple[float, float, float]]:
    """Monte Carlo of :func:`error_rates`: ``n`` independent device draws per input combination.

    Returns, per operation, ``(estimate, low, high)`` with a 95 % normal interval on the binomial proportion
    (Wilson's score interval, valid also for few errors).
    """
    check_int("n", n, min=1)
    rng = np.random.default_rng(seed)
    refs = references(device)
    out = {}
    for op in OPS:
        cases = _cases(op)
        wrong = 0
        for states, want in cases:
            r = sum(1 / _draw_path(device, s, n, rng) for s in states)
            offset = rng.normal(0, device.sa_offset, n) if device.sa_offset > 0 else 0.0
            got = device.i_read / r > device.i_read * refs[op] + offset
            wrong += int(np.count_nonzero(got != bool(want)))
        out[op] = _wilson(wrong, n * len(cases))
    return out


def _draw_path(device, state, n, rng):
    r = device.r_ap if state else device.r_p
    s = device.sigma_rap if state else device.sigma_rp
    return r * (1 + s * rng.standard_normal(n)) + device.r_access * (1 + device.sigma_access * rng.standard_normal(n))


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float, float]:
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return p, max(0.0, mid - half), min(1.0, mid + half)


class SOTSubArray:
    """A ``rows x cols`` dual-mode SOT-MRAM sub-array with static device variation (see the module docstring).

    Parameters
    ----------
    rows, cols : int
        Geometry (default 1024 x 256: the commercial MRAM sub-array the paper uses, Section IV.B).
    device : SOTDevice
        Nominal parameters and variation.
    seed : int
        Seed of the device-to-device draws (ignored for an ideal device).

    Attributes
    ----------
    state : ndarray of bool, (rows, cols)
        Stored bits ('1' = anti-parallel).
    counters : dict
        ``row_writes``, ``row_reads``, ``senses`` (compute-mode AND/OR row operations).
    """

    def __init__(self, rows: int = 1024, cols: int = 256, device: SOTDevice = SOTDevice(), seed: int = 0):
        self.rows = check_int("rows", rows, min=2)
        self.cols = check_int("cols", cols, min=1)
        if not isinstance(device, SOTDevice):
            raise TypeError(f"device must be an SOTDevice, got {device!r}")
        self.device = device
        self.state = np.zeros((rows, cols), bool)
        self.counters = {"row_writes": 0, "row_reads": 0, "senses": 0}
        d = device
        rng = np.random.default_rng(check_int("seed", seed, min=0))
        shape = (rows, cols)
        self.r_p = d.r_p * (1 + d.sigma_rp * rng.standard_normal(shape)) if d.sigma_rp else np.full(shape, d.r_p)
        self.r_ap = d.r_ap * (1 + d.sigma_rap * rng.standard_normal(shape)) if d.sigma_rap else np.full(shape, d.r_ap)
        self.r_access = (d.r_access * (1 + d.sigma_access * rng.standard_normal(shape)) if d.sigma_access
                         else np.full(shape, d.r_access))
        self.offset = rng.normal(0, d.sa_offset, cols) if d.sa_offset else np.zeros(cols)
        self.refs = references(d)
        # The SA decides R_path > R_ref + offset / I_read; in conductances (exact rearrangement, cheaper to sense):
        # read: G < G_th, compute mode: G_a + G_b < G_th with G_th = 1 / (R_ref + offset / I_read) per column.
        self._g = (1 / (self.r_p + self.r_access), 1 / (self.r_ap + self.r_access))
        self._g_th = {op: 1 / (ref + self.offset / d.i_read) for op, ref in self.refs.items()}

    # --- memory mode ---------------------------------------------------------------------------------------------

    def bias(self, op: str, rows) -> dict[str, np.ndarray]:
        """Line levels of an operation (Fig. 2c): ``WWL``, ``RWL``, ``SL`` per row (1 = active / grounded source
        line for a write), ``EN`` = (EN_M, EN_AND, EN_OR). ``op`` in ``write``, ``read``, ``and``, ``or``."""
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        want = {"write": 1, "read": 1, "and": 2, "or": 2}
        if op not in want:
            raise ValueError(f"op must be one of {sorted(want)}, got {op!r}")
        if len(rows) != want[op] or (want[op] == 2 and rows[0] == rows[1]):
            raise ValueError(f"{op} selects {want[op]} distinct row(s), got {rows.tolist()}")
        self._check_rows(rows)
        on = np.zeros(self.rows, np.uint8)
        on[rows] = 1
        off = np.zeros(self.rows, np.uint8)
        en = {"write": (0, 0, 0), "read": (1, 0, 0), "and": (0, 1, 0), "or": (0, 0, 1)}[op]
        return {"WWL": on if op == "write" else off, "RWL": off if op == "write" else on,
                "SL": on if op == "write" else off, "EN": np.array(en, np.uint8)}

    def write_row(self, row: int, bits) -> None:
        """Memory write of one row, all columns in parallel: WBL at +V for '1' (R_AP), -V for '0' (R_P)."""
        bits = np.asarray(bits)
        if bits.shape != (self.cols,):
            raise ValueError(f"bits must have shape ({self.cols},), got {bits.shape}")
        self._check_rows(np.array([row]))
        self.state[row] = bits.astype(bool)
        self.counters["row_writes"] += 1

    def write_rows(self, first: int, bits) -> None:
        """Rows ``first, first + 1, ...`` from a ``(k, cols)`` bit matrix (one write operation per row)."""
        bits = np.asarray(bits, bool)
        if bits.ndim != 2 or bits.shape[1] != self.cols:
            raise ValueError(f"bits must have shape (k, {self.cols}), got {bits.shape}")
        self._check_rows(np.array([first, first + len(bits) - 1]))
        self.state[first:first + len(bits)] = bits
        self.counters["row_writes"] += len(bits)

    def conductance(self, state: np.ndarray | None = None) -> np.ndarray:
        """Read-path conductance of every cell with contents ``state`` (default: the stored bits)."""
        st = self.state if state is None else state
        return np.where(st, self._g[1], self._g[0])

    def read_rows(self, rows, state: np.ndarray | None = None, g: np.ndarray | None = None) -> np.ndarray:
        """Memory-mode read of rows: ``(k, cols)`` bool, what the sense amplifiers output (with variation).

        ``state`` (or its :meth:`conductance` ``g``) senses a snapshot of the array with the same devices.
        """
        rows = self._check_rows(np.atleast_1d(np.asarray(rows, dtype=np.int64)))
        self.counters["row_reads"] += len(rows)
        g = self._select(rows, state, g)
        return g < self._g_th["read"]

    def sense(self, op: str, rows_a, rows_b, state: np.ndarray | None = None,
              g: np.ndarray | None = None) -> np.ndarray:
        """Compute mode: ``op`` ('and' or 'or') of row pairs ``(rows_a[i], rows_b[i])`` as sensed, ``(k, cols)`` bool.

        The two paths in parallel: ``R_a // R_b > R_ref + offset / I_read``. ``state`` / ``g`` as in
        :meth:`read_rows`.
        """
        if op not in _OP_CODE:
            raise ValueError(f"op must be 'and' or 'or', got {op!r}")
        a = self._check_rows(np.atleast_1d(np.asarray(rows_a, dtype=np.int64)))
        b = self._check_rows(np.atleast_1d(np.asarray(rows_b, dtype=np.int64)))
        if a.shape != b.shape:
            raise ValueError(f"rows_a and rows_b must have the same length, got {len(a)} and {len(b)}")
        if np.any(a == b):
            raise ValueError("compute mode senses two distinct rows of a column; a pair names the same row twice")
        self.counters["senses"] += len(a)
        if g is None and state is None:
            return self._select(a, None, None) + self._select(b, None, None) < self._g_th[op]
        g = self.conductance(state) if g is None else g
        return g[a] + g[b] < self._g_th[op]

    def _select(self, rows, state, g):
        if g is not None:
            return g[rows]
        st = (self.state if state is None else state)[rows]
        return np.where(st, self._g[1][rows], self._g[0][rows])

    def _check_rows(self, rows):
        if rows.size and (rows.min() < 0 or rows.max() >= self.rows):
            bad = rows[(rows < 0) | (rows >= self.rows)][0]
            raise ValueError(f"row {int(bad)} is outside 0..{self.rows - 1}")
        return rows

    # --- the memory-model protocol of the responder (memory mode) ----------------------------------------------

    def read(self, addr: int) -> int:
        """Memory read of row ``addr`` as an int (bit j = column j), for :class:`scripts.sim.MemoryResponder`."""
        return pack_rows(self.read_rows([addr]))[0]

    def write(self, addr: int, data: int) -> None:
        self.write_row(addr, unpack_rows([data], self.cols)[0])


class SenseProgram:
    """A list of compute-mode operations seen as a read-only memory: address ``i`` senses operation ``i``.

    This is what the sub-array controller presents to the bit-count reader (:class:`hw.bitcount_reader
    .BitCountReader`): each row request is one compute-mode sense of the sub-array model, performed when the
    memory responder serves the read. ``ops`` is an int array ``(n, 4)``: ``(op code, row a, row b, snapshot
    index)`` with op code 0 = memory-mode read of row a (b unused), 1 = AND, 2 = OR of rows a and b; ``snapshots`` are packed copies of the array contents (the array is rewritten
    between tiles of a matrix product), sensed with the sub-array's own devices.

    ``words`` (every sensed row, computed at once) is what the golden reads.
    """

    def __init__(self, subarray: SOTSubArray, ops, snapshots):
        self.subarray = subarray
        self.ops = np.asarray(ops, dtype=np.int64).reshape(-1, 4)
        self.snapshots = [np.asarray(s, np.uint8) for s in snapshots]
        self.depth = len(self.ops)
        self._words = None
        self._g = {}

    def _conductance(self, k: int) -> np.ndarray:
        if k not in self._g:
            state = np.unpackbits(self.snapshots[k], axis=1, count=self.subarray.cols, bitorder="little")
            self._g[k] = self.subarray.conductance(state.astype(bool))
        return self._g[k]

    def __getstate__(self):            # pickled for the Verilator run: the cache is rebuilt there
        return {**self.__dict__, "_g": {}, "_words": None}

    def sensed(self, idx) -> np.ndarray:
        """Sensed rows of operations ``idx``, ``(len(idx), cols)`` bool."""
        idx = np.atleast_1d(np.asarray(idx, dtype=np.int64))
        out = np.zeros((len(idx), self.subarray.cols), bool)
        ops = self.ops[idx]
        for k in np.unique(ops[:, 3]):
            g = self._conductance(int(k))
            sel = (ops[:, 3] == k) & (ops[:, 0] == 0)
            if sel.any():
                out[sel] = self.subarray.read_rows(ops[sel, 1], g=g)
            for code, name in ((1, "and"), (2, "or")):
                sel = (ops[:, 3] == k) & (ops[:, 0] == code)
                if sel.any():
                    out[sel] = self.subarray.sense(name, ops[sel, 1], ops[sel, 2], g=g)
        return out

    def read(self, addr: int) -> int:
        return pack_rows(self.sensed([addr]))[0]

    def write(self, addr: int, data: int) -> None:
        raise ValueError("a sense program is read-only")

    @property
    def words(self) -> list[int]:
        if self._words is None:
            self._words = pack_rows(self.sensed(np.arange(self.depth)))
        return self._words
