"""Bit-level behavioural 1T-1R SOT-MRAM sub-array for digital processing in memory (read, write, search, stateful
AND/OR/XOR), vectorised over columns.

Source: ``sot-mram-fp-pim-training-wang.txt`` (Wang et al., "A New MRAM-based Process In-Memory Accelerator for
Efficient Neural Network Training with Floating Point Precision"), Section 3.1, Figs. 1, 2 (c), 3, 4 (a), Table 1.

Geometry and parallelism
------------------------
The sub-array is ``rows x cols`` single-bit cells (default 1024 x 1024, the size of Section 4.1). The model stores it
as numpy bit planes, ``state[row, col]``; a *lane* is one column, so one operation of an arithmetic routine acts on
the same rows of every selected column at once (column-parallel, one numpy call per row group). The paper places
the cells of one full adder partly in neighbouring columns of one row (Fig. 3, "copied to the same row of and next
to Z"); we fold that geometry into the row index, which keeps every step count of the paper and puts one lane per
column (1024 column-parallel operations per sub-array).

A **step** is one read phase followed by one write phase ("each step features parallel read and then write",
Fig. 3). In one step a lane may read any set of its cells and write any set of distinct cells, each write a Fig. 1
operation whose input ``A`` is a value read in this step (or a constant, or the search latch). This is the
row-parallelism of Section 3.1 (the 1T-1R cell "maintains row-parallel writing flexibility": different data into
different cells of a row in one write), which the paper uses in Fig. 3 (Step 2: XOR and AND at once; Step 4: XOR and
OR at once) and in Fig. 4 (a) (a mantissa shifted by several bits in one step). So the number of steps is the depth
of a schedule and the energy counts every cell. A **search** step (Fig. 4 (a)) applies a key to a set of rows of
every column and latches, per column, whether all of them match (one current sense per column); rows outside the
set are "don't care". A step may be gated per column by the latch or by a row (``enable``): the write driver of a
disabled column applies no ``V_b``, so its cells keep their state and cost nothing.

The stateful logic of Fig. 1
----------------------------
Fig. 1 gives the next state ``B_{i+1}`` from the applied voltage ``A`` (``V_b`` = 600 mV is logic 1, 0 V logic 0),
the stored state ``B_i`` and the write-current direction ``C``. We read it as one device rule (:func:`stateful_next`):
the write current switches the MTJ to state ``C`` only where ``V_b`` lowers the switching threshold, so
``B_{i+1} = C if A else B_i`` (the paper's worked example: ``A = 1, C = 1`` gives ``B_{i+1} = 1``, the OR). The three
functions are three choices of ``(A, C)`` for an operand ``x`` read in the step (:data:`LOGIC`):

* OR : ``A = x``, ``C = 1``       -> ``B | x``
* AND: ``A = not x``, ``C = 0``   -> ``B & x`` (the sense amplifier's complementary output drives ``V_b``)
* XOR: ``A = x``, ``C = not B_i`` -> ``B ^ x`` (the write driver sets the current against the stored state, so an
  XOR also senses its target cell in the read phase; we count that read)

A copy is a plain write (``A = 1``, ``C = x``); a constant write has no read.

Costs (Table 1 and our read/search parameters)
----------------------------------------------
Every step is counted as a read phase, a write phase or a search (:class:`StepCounts`). Time is
``n_read * t_read + n_write * t_write + n_search * t_search`` (steps are sequential); energy is per cell:
``cell_reads * e_read + cell_writes * e_write + searches * e_search`` summed over the enabled columns. Write time and
energy are Table 1's ``t_switch`` = 2 ns and ``E_switch`` = 12 fJ per bit (the paper cites [7]); the paper takes its
read and search costs from NVSim with the current sense amplifier of [13] and prints none, so :class:`CellParams`
names ours: ``t_read`` = 1 ns, ``e_read`` = 1 fJ per bit (cell current at the -100 mV read bias of Section 3.1 through
R_on/R_off is 2/1 uA, about 0.15 fJ in 1 ns; the rest is the sense amplifier), and a search costs one read per column.
Host transfers (:meth:`SubArray.load`, :meth:`SubArray.dump`) are counted apart (``io``), not in an operation.

Schedule tallies and cell reuse
-------------------------------
Besides the per-lane counters, :attr:`SubArray.tallies` counts per phase what the *schedule* issues, whatever the
column enables: ``cell_ops`` (cells written per step, one per destination cell: the number of one-bit operations a
row-serial design such as FloatPIM would evaluate one after the other) and names the routines add themselves with
:meth:`SubArray.tally` (e.g. ``fa_bits``, full-adder bits). :meth:`SubArray.peak_live` gives the cells a lane needs
when rows are reused: a row is live from its first access to its last (read, search or write; host-loaded rows from
the start, dumped rows to the end; a row read before any write holds the 0 of a fresh row from then on), and since
these are intervals of one time line, their largest overlap is both necessary and sufficient (interval-graph
colouring: rows with disjoint intervals share a cell).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, fields

import numpy as np

from model.checks import check_int, check_real

__all__ = ["CellParams", "TABLE1", "LOGIC", "stateful_next", "logic_inputs", "StepCounts", "SubArray",
           "DEFAULT_ROWS", "DEFAULT_COLS", "OPS"]

PAPER = "sot-mram-fp-pim-training-wang.txt"
DEFAULT_ROWS = 1024  # Section 4.1: 1024 x 1024 sub-array (the FloatPIM baseline's size)
DEFAULT_COLS = 1024


@dataclass(frozen=True)
class CellParams:
    """Cell and periphery parameters of the sub-array.

    Parameters
    ----------
    r_on, r_off : float
        MTJ low / high resistance in ohms (Table 1: 50 kOhm, 100 kOhm).
    v_b : float
        Gate voltage ``V_b`` that selects a cell for switching, volts (Table 1: 600 mV).
    i_write : float
        Write current, amperes (Table 1: 65 uA).
    t_switch, e_switch : float
        Switching time (s) and energy (J) per cell (Table 1: 2.0 ns, 12.0 fJ); a write phase takes ``t_switch``
        and costs ``e_switch`` per written cell.
    v_read : float
        Read bias magnitude on RBL, volts (Section 3.1: -100 mV).
    t_read, e_read : float
        Read phase time (s) and energy per cell read (J). Ours (the paper gives none): 1 ns, 1 fJ.
    t_search, e_search : float
        Search step time (s) and energy per searched column (J). Ours: one read (1 ns, 1 fJ): the matched
        cells of a column conduct in one current path that one sense amplifier compares (Fig. 4 (a)).
    """

    r_on: float = 50e3
    r_off: float = 100e3
    v_b: float = 0.6
    i_write: float = 65e-6
    t_switch: float = 2.0e-9
    e_switch: float = 12.0e-15
    v_read: float = 0.1
    t_read: float = 1.0e-9
    e_read: float = 1.0e-15
    t_search: float = 1.0e-9
    e_search: float = 1.0e-15

    def __post_init__(self):
        for f in fields(self):
            check_real(f.name, getattr(self, f.name), min=0, min_open=True, type_error=False)
        if self.r_off <= self.r_on:
            raise ValueError(f"r_off must be > r_on, got r_on={self.r_on!r}, r_off={self.r_off!r}")

    @property
    def t_write(self) -> float:
        """Write phase time: ``t_switch`` (Table 1)."""
        return self.t_switch

    @property
    def e_write(self) -> float:
        """Energy per written cell: ``E_switch`` (Table 1)."""
        return self.e_switch

    @property
    def read_currents(self) -> tuple[float, float]:
        """Cell read current (A) through R_on and R_off at ``v_read`` (Ohm's law; the sense margin of Fig. 4 (a))."""
        return self.v_read / self.r_on, self.v_read / self.r_off

    @property
    def e_read_cell(self) -> float:
        """Energy dissipated in the cell itself during one read, J: ``v_read^2 / R`` averaged over R_on and R_off,
        times ``t_read`` (the part of ``e_read`` that is not the sense amplifier)."""
        return self.v_read ** 2 * 0.5 * (1 / self.r_on + 1 / self.r_off) * self.t_read


#: Table 1 of the paper with our named read/search parameters.
TABLE1 = CellParams()


def stateful_next(a, b, c) -> np.ndarray:
    """Fig. 1 device rule: next MTJ state ``B_{i+1} = C where A (V_b applied) else B_i``.

    Parameters
    ----------
    a, b, c : array_like of bool
        Applied voltage (logic), stored state ``B_i``, write-current direction (logic); broadcast together.
    """
    a, b, c = (np.asarray(v, dtype=bool) for v in (a, b, c))
    return np.where(a, c, b)


#: The Fig. 1 functions as (A, C) of the device rule, for an operand ``x`` and stored state ``b``.
LOGIC = {
    "or": lambda x, b: (x, np.ones_like(x)),
    "and": lambda x, b: (~x, np.zeros_like(x)),
    "xor": lambda x, b: (x, ~b),
}


def logic_inputs(op: str, x, b) -> tuple[np.ndarray, np.ndarray]:
    """``(A, C)`` that make :func:`stateful_next` compute ``b op x`` (Fig. 1); ``op`` in ``and``, ``or``, ``xor``."""
    if op not in LOGIC:
        raise ValueError(f"op must be one of {sorted(LOGIC)}, got {op!r}")
    return LOGIC[op](np.asarray(x, dtype=bool), np.asarray(b, dtype=bool))


#: Write operations of a step: ``copy`` (dst := src), ``set`` (dst := constant 0/1), stateful ``and``/``or``/``xor``
#: (dst := dst op src), ``not`` (dst := not dst, an XOR with ``V_b`` on every column).
OPS = ("copy", "set", "and", "or", "xor", "not")


@dataclass
class StepCounts:
    """Step and cell counters of a sub-array run.

    ``read``, ``write``, ``search``: number of read phases, write phases and search steps (time). ``cell_reads``,
    ``cell_writes``, ``searches``: cells read, cells written and columns searched, summed over the enabled columns
    (energy). Divide the cell counters by the number of lanes for per-operation values (:meth:`per_lane`).
    """

    read: int = 0
    write: int = 0
    search: int = 0
    cell_reads: int = 0
    cell_writes: int = 0
    searches: int = 0

    def __add__(self, other: "StepCounts") -> "StepCounts":
        return StepCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def scaled(self, k: int) -> "StepCounts":
        """Counters of ``k`` sequential repetitions."""
        return StepCounts(*(getattr(self, f.name) * k for f in fields(self)))

    @property
    def steps(self) -> dict:
        """``{"read": ..., "write": ..., "search": ...}`` (phases and searches)."""
        return {"read": self.read, "write": self.write, "search": self.search}

    def time_s(self, params: CellParams = TABLE1) -> float:
        """Latency in seconds: the phases run one after the other."""
        return self.read * params.t_read + self.write * params.t_write + self.search * params.t_search

    def energy_j(self, params: CellParams = TABLE1) -> float:
        """Energy in joules of all counted cells (all lanes)."""
        return (self.cell_reads * params.e_read + self.cell_writes * params.e_write
                + self.searches * params.e_search)

    def per_lane(self, lanes: int) -> dict:
        """Cells read / written / searched per lane (floats)."""
        lanes = check_int("lanes", lanes, min=1)
        return {"cell_reads": self.cell_reads / lanes, "cell_writes": self.cell_writes / lanes,
                "searches": self.searches / lanes}


@dataclass
class SubArray:
    """A ``rows x cols`` 1T-1R SOT-MRAM sub-array whose only operations are read, write, search and the stateful
    logic of Fig. 1 (see the module docstring for the step rule and the costs).

    Parameters
    ----------
    rows, cols : int
        Size (default 1024 x 1024).
    lanes : int, optional
        Columns taking part in the operations (the first ``lanes`` columns; default all).
    params : CellParams
        Costs (default :data:`TABLE1`).

    Attributes
    ----------
    state : numpy.ndarray of bool, shape (rows, cols)
        Cell states (True = high resistance = logic 1, Fig. 1).
    latch : numpy.ndarray of bool, shape (lanes,)
        Per-column result of the last search.
    counts : StepCounts
        Counters of all operations; ``by_phase`` splits them by the name given to :meth:`phase`; ``io`` counts
        host transfers (:meth:`load`, :meth:`dump`) apart.
    written_rows : set of int
        Rows written by :meth:`step` so far (the cells an algorithm uses).
    tallies : dict of str to dict of str to int
        Per phase, schedule-level counts: ``cell_ops`` (destination cells of every step, all columns alike) and
        whatever :meth:`tally` added (module docstring).
    """

    rows: int = DEFAULT_ROWS
    cols: int = DEFAULT_COLS
    lanes: int | None = None
    params: CellParams = TABLE1
    state: np.ndarray = field(init=False, repr=False)
    latch: np.ndarray = field(init=False, repr=False)
    counts: StepCounts = field(init=False)
    io: StepCounts = field(init=False)
    by_phase: dict = field(init=False, repr=False)
    written_rows: set = field(init=False, repr=False)
    tallies: dict = field(init=False, repr=False)

    def __post_init__(self):
        self.rows = check_int("rows", self.rows, min=1, max=1 << 16)
        self.cols = check_int("cols", self.cols, min=1, max=1 << 16)
        self.lanes = self.cols if self.lanes is None else check_int("lanes", self.lanes, min=1, max=self.cols)
        if not isinstance(self.params, CellParams):
            raise TypeError(f"params must be a CellParams, got {type(self.params).__name__}")
        self.state = np.zeros((self.rows, self.cols), dtype=bool)
        self.latch = np.zeros(self.lanes, dtype=bool)
        self.counts = StepCounts()
        self.io = StepCounts()
        self.by_phase = {}
        self._phase = "other"
        self._next_row = 0
        self.written_rows = set()
        self.tallies = {}
        self._time = 0          # half-steps: reads and searches of step t at 2t, its writes at 2t + 1
        self._first = {}        # row -> first access (host load: -1)
        self._last = {}         # row -> last access
        self._step_phase = []   # phase of step t (searches included)

    # ------------------------------------------------------------------------------------------- bookkeeping
    @property
    def view(self) -> np.ndarray:
        """The cells of the lanes taking part, shape ``(rows, lanes)`` (a view of :attr:`state`)."""
        return self.state[:, :self.lanes]

    def alloc(self, n: int, name: str = "field") -> np.ndarray:
        """Reserve ``n`` fresh rows (all cells 0) and return their indices (bit 0 first)."""
        n = check_int("n", n, min=1)
        if self._next_row + n > self.rows:
            raise ValueError(f"sub-array rows exhausted: {name} needs {n} rows, {self.rows - self._next_row} of "
                             f"{self.rows} are free")
        rows = np.arange(self._next_row, self._next_row + n)
        self._next_row += n
        return rows

    @property
    def rows_used(self) -> int:
        """Rows reserved by :meth:`alloc` so far."""
        return self._next_row

    @contextlib.contextmanager
    def phase(self, name: str):
        """Count the steps inside the ``with`` block under ``name`` in :attr:`by_phase` (as well as in the total)."""
        previous, self._phase = self._phase, str(name)
        try:
            yield
        finally:
            self._phase = previous

    def tally(self, name: str, n: int) -> None:
        """Add ``n`` to the schedule tally ``name`` of the current phase (:attr:`tallies`)."""
        t = self.tallies.setdefault(self._phase, {})
        t[name] = t.get(name, 0) + int(n)

    def _use(self, rows, when: int) -> None:
        for r in np.asarray(rows).reshape(-1).tolist():
            self._first.setdefault(r, when)
            self._last[r] = max(self._last.get(r, when), when)

    def peak_live(self, rows=None, phases=None) -> int:
        """Largest number of ``rows`` (default: every row written by :meth:`step`) live at one time: the cells a
        lane needs for them when a row is reused once its last access is over (module docstring).

        ``phases``: only the rows first accessed in a step of these phases, and only at the instants of those
        steps (the cells a program made of these phases alone would need).
        """
        rows = sorted(self.written_rows) if rows is None else np.asarray(rows).reshape(-1).tolist()
        span = 2 * self._time + 2                     # instants -1 (host load) .. 2 * time
        live = np.zeros(span + 1, np.int64)
        keep = None if phases is None else {str(p) for p in phases}
        for r in rows:
            if r not in self._first:
                continue
            first = self._first[r]
            if keep is not None and (first < 0 or self._step_phase[first // 2] not in keep):
                continue
            live[first + 1] += 1
            live[self._last[r] + 2] -= 1
        live = np.cumsum(live)[:span]
        if keep is not None:
            steps = len(self._step_phase)
            inside = np.array([False] + [t // 2 < steps and self._step_phase[t // 2] in keep
                                         for t in range(span - 1)])
            live = live[inside]
        return int(live.max()) if live.size else 0

    def _count(self, **kw) -> None:
        c = self.by_phase.setdefault(self._phase, StepCounts())
        for k, v in kw.items():
            setattr(c, k, getattr(c, k) + int(v))
            setattr(self.counts, k, getattr(self.counts, k) + int(v))

    def _rows(self, rows, name: str) -> np.ndarray:
        r = np.atleast_1d(np.asarray(rows))
        if r.ndim != 1 or r.dtype.kind not in "iu":
            raise ValueError(f"{name} must be a row index or a 1-D array of row indices, got {rows!r}")
        if r.size and (r.min() < 0 or r.max() >= self.rows):
            raise ValueError(f"{name} must be row indices in 0 .. {self.rows - 1}, got {rows!r}")
        return r.astype(np.intp)

    # ------------------------------------------------------------------------------------------ host access
    def load(self, rows, bits) -> None:
        """Host write: ``bits`` (shape ``(len(rows), lanes)``, bool) into ``rows`` of the lanes, one row per write
        (the normal memory write of Section 2); counted in :attr:`io`."""
        r = self._rows(rows, "rows")
        b = np.asarray(bits, dtype=bool)
        if b.shape != (r.size, self.lanes):
            raise ValueError(f"bits must have shape {(r.size, self.lanes)} (rows, lanes), got {b.shape}")
        self.state[r, :self.lanes] = b
        self._use(r, -1)
        self.io.write += r.size
        self.io.cell_writes += r.size * self.lanes

    def dump(self, rows) -> np.ndarray:
        """Host read of ``rows`` of the lanes (one row per read), shape ``(len(rows), lanes)``; counted in
        :attr:`io`."""
        r = self._rows(rows, "rows")
        self._use(r, 2 * self._time)
        self.io.read += r.size
        self.io.cell_reads += r.size * self.lanes
        return self.state[r, :self.lanes].copy()

    # --------------------------------------------------------------------------------------------- operations
    def search(self, rows, key) -> np.ndarray:
        """Search step (Fig. 4 (a)): per lane, do ``rows`` hold the bits ``key``? Sets and returns :attr:`latch`.

        Rows not listed are "don't care" (no voltage applied). Costs one search step and one sensing per lane.
        """
        r = self._rows(rows, "rows")
        k = np.asarray(key, dtype=bool).reshape(-1)
        if k.size != r.size:
            raise ValueError(f"key must have one bit per searched row ({r.size}), got {k.size}")
        self.latch = np.all(self.view[r] == k[:, None], axis=0)
        self._use(r, 2 * self._time)
        self._step_phase.append(self._phase)
        self._time += 1
        self._count(search=1, searches=self.lanes)
        return self.latch

    def step(self, ops, enable=None) -> None:
        """One step: a read phase, then a write phase of the operations ``ops`` in every enabled lane.

        Parameters
        ----------
        ops : sequence of (kind, dst, src)
            ``kind`` in :data:`OPS`; ``dst`` a row or rows (each cell written at most once per step); ``src`` rows
            of the same length as ``dst`` or one row for all (``copy``, ``and``, ``or``, ``xor``), the string
            ``"latch"`` (the last search result, no read), the constant 0/1 (``set``), or None (``not``).
            All sources are read before any write.
        enable : None, "latch" or int
            Columns taking part: all lanes, the lanes whose last search matched, or the lanes where the given row
            holds 1 (read in this step).
        """
        v = self.view
        reads: set[int] = set()
        if enable is None:
            en = None
        elif isinstance(enable, str) and enable == "latch":
            en = self.latch
        else:
            er = int(self._rows(enable, "enable")[0])
            reads.add(er)
            en = v[er].copy()
        planned, dsts = [], []
        for op in ops:
            if len(op) != 3:
                raise ValueError(f"an operation is (kind, dst, src), got {op!r}")
            kind, dst, src = op
            if kind not in OPS:
                raise ValueError(f"operation kind must be one of {OPS}, got {kind!r}")
            d = self._rows(dst, "dst")
            dsts.append(d)
            if kind == "set":
                if src not in (0, 1, False, True):
                    raise ValueError(f"set needs the constant 0 or 1 as src, got {src!r}")
                planned.append((kind, d, bool(src)))
                continue
            if kind == "not":
                reads.update(d.tolist())
                planned.append((kind, d, None))
                continue
            if isinstance(src, str):
                if src != "latch":
                    raise ValueError(f"src must be rows or 'latch', got {src!r}")
                x = np.broadcast_to(self.latch, (d.size, self.lanes))
            else:
                s = self._rows(src, "src")
                if s.size not in (1, d.size):
                    raise ValueError(f"src has {s.size} rows for {d.size} dst rows")
                reads.update(s.tolist())
                x = v[s]  # fancy indexing copies: the read phase precedes every write
                if s.size == 1 and d.size > 1:
                    x = np.broadcast_to(x, (d.size, self.lanes))
            if kind == "xor":
                reads.update(d.tolist())  # C = not B_i: the driver senses the target cell
            planned.append((kind, d, x))
        all_d = np.concatenate(dsts) if dsts else np.zeros(0, np.intp)
        if np.unique(all_d).size != all_d.size:
            raise ValueError("a cell is written twice in one step")
        n_en = self.lanes if en is None else int(np.count_nonzero(en))
        for kind, d, x in planned:
            old = v[d]
            if kind == "copy":
                new = x
            elif kind == "set":
                new = np.full(old.shape, x)
            elif kind == "not":
                new = ~old
            else:  # Fig. 1 device rule with the (A, C) of LOGIC
                a, c = LOGIC[kind](np.asarray(x), old)
                new = stateful_next(a, old, c)
            v[d] = new if en is None else np.where(en, new, old)
        if reads:
            self._use(sorted(reads), 2 * self._time)
            self._count(read=1, cell_reads=len(reads) * n_en)
        if all_d.size:
            self._use(all_d, 2 * self._time + 1)
            self._count(write=1, cell_writes=all_d.size * n_en)
            self.tally("cell_ops", all_d.size)
            self.written_rows.update(all_d.tolist())
        self._step_phase.append(self._phase)
        self._time += 1
