"""Tests of model.pim.subarray: the Fig. 1 device rule, the step semantics of the sub-array against numpy, search,
column gating, and the step / cell counters with the Table 1 costs."""

import numpy as np
import pytest

from model.pim.subarray import TABLE1, CellParams, StepCounts, SubArray, logic_inputs, stateful_next


@pytest.mark.parametrize("op,expected", [("and", lambda x, b: x & b), ("or", lambda x, b: x | b),
                                         ("xor", lambda x, b: x ^ b)])
def test_fig1_device_rule_gives_and_or_xor(op, expected):
    x, b = np.meshgrid([False, True], [False, True])
    a, c = logic_inputs(op, x, b)
    assert np.array_equal(stateful_next(a, b, c), expected(x, b))


def test_device_rule_switches_only_under_vb():
    # the paper's worked OR example: A = 1 (V_b applied), C = 1 -> B_{i+1} = 1 whatever B_i
    assert stateful_next(1, 0, 1) and stateful_next(1, 1, 1)
    # no V_b: the state is kept whatever the current direction
    for b in (0, 1):
        for c in (0, 1):
            assert stateful_next(0, b, c) == b
    with pytest.raises(ValueError, match="op must be one of"):
        logic_inputs("nand", 1, 1)


def _random_array(rng, rows=16, lanes=40):
    arr = SubArray(rows=rows, cols=64, lanes=lanes)
    bits = rng.integers(0, 2, (rows, lanes)).astype(bool)
    arr.load(np.arange(rows), bits)
    return arr, bits.copy()


def test_step_operations_match_numpy(rng):
    arr, s = _random_array(rng)
    arr.step([("copy", [0, 1], [8, 9]), ("and", 2, 10), ("or", [3, 4], 11), ("xor", 5, 12), ("not", [6], None),
              ("set", 7, 1), ("set", 13, 0)])
    exp = s.copy()
    exp[[0, 1]] = s[[8, 9]]
    exp[2] = s[2] & s[10]
    exp[3], exp[4] = s[3] | s[11], s[4] | s[11]
    exp[5] = s[5] ^ s[12]
    exp[6] = ~s[6]
    exp[7], exp[13] = True, False
    assert np.array_equal(arr.dump(np.arange(16)), exp)


def test_all_reads_precede_the_writes_of_a_step(rng):
    arr, s = _random_array(rng)
    arr.step([("copy", [0, 1], [1, 0]), ("xor", 2, 3), ("xor", 3, 2)])   # swap; cross XOR reads old values
    got = arr.dump([0, 1, 2, 3])
    assert np.array_equal(got, np.stack([s[1], s[0], s[2] ^ s[3], s[3] ^ s[2]]))


def test_column_gating_by_row_and_by_latch(rng):
    arr, s = _random_array(rng)
    arr.step([("set", [0, 1], 1)], enable=4)             # only where row 4 holds 1
    got = arr.dump([0, 1])
    assert np.array_equal(got[0], np.where(s[4], True, s[0])) and np.array_equal(got[1], np.where(s[4], True, s[1]))
    latch = arr.search([5, 6], [True, False])
    assert np.array_equal(latch, s[5] & ~s[6])
    before = arr.dump([2])[0]
    arr.step([("not", 2, None)], enable="latch")
    assert np.array_equal(arr.dump([2])[0], np.where(latch, ~before, before))


def test_search_compares_only_the_given_rows(rng):
    arr, s = _random_array(rng, lanes=64)
    key = rng.integers(0, 2, 5).astype(bool)
    rows = np.array([1, 3, 5, 7, 9])
    assert np.array_equal(arr.search(rows, key), np.all(s[rows] == key[:, None], axis=0))


def test_counters_and_table1_costs():
    p = CellParams()
    arr = SubArray(rows=8, cols=16, lanes=5)
    arr.load([0, 1], np.ones((2, 5), bool))
    with arr.phase("logic"):
        arr.step([("copy", [2, 3], [0, 1]), ("xor", 4, 0)])    # reads rows 0, 1 and the XOR target 4; 3 writes
        arr.step([("set", [5, 6], 1)])                          # write only
    arr.search([2, 3], [True, True])                            # all 5 lanes match
    arr.step([("or", 7, 2)], enable="latch")
    c = arr.counts
    assert (c.read, c.write, c.search) == (2, 3, 1)
    assert (c.cell_reads, c.cell_writes, c.searches) == (3 * 5 + 1 * 5, (3 + 2 + 1) * 5, 5)
    # Table 1: t_switch 2.0 ns, E_switch 12.0 fJ per written cell; ours: t_read = t_search = 1 ns, 1 fJ
    assert c.time_s(p) == pytest.approx(2 * 1e-9 + 3 * 2.0e-9 + 1 * 1e-9)
    assert c.energy_j(p) == pytest.approx(20 * 1e-15 + 30 * 12.0e-15 + 5 * 1e-15)
    assert arr.by_phase["logic"].write == 2 and arr.by_phase["logic"].cell_writes == 25
    assert (arr.io.write, arr.io.cell_writes) == (2, 10)                   # host load counted apart
    assert c.per_lane(5) == {"cell_reads": 4.0, "cell_writes": 6.0, "searches": 1.0}


def test_gated_columns_cost_nothing():
    arr = SubArray(rows=4, cols=8)
    arr.load([0], np.array([[1, 0, 1, 0, 0, 0, 0, 1]], bool))
    arr.step([("set", [1, 2], 1)], enable=0)                    # 3 enabled columns
    assert arr.counts.cell_writes == 6 and arr.counts.cell_reads == 3


def test_phases_add_up_to_the_total(rng):
    arr, _ = _random_array(rng)
    for name in ("a", "b", "a"):
        with arr.phase(name):
            arr.step([("copy", 0, 1)])
            arr.search([2], [True])
    total = StepCounts()
    for c in arr.by_phase.values():
        total = total + c
    assert total == arr.counts
    assert arr.by_phase["a"] == arr.by_phase["b"].scaled(2)


def test_table1_and_default_size():
    arr = SubArray()
    assert arr.state.shape == (1024, 1024) and arr.lanes == 1024           # Section 4.1 sub-array
    p = TABLE1
    assert (p.r_on, p.r_off, p.v_b, p.i_write, p.t_switch, p.e_switch) == (50e3, 100e3, 0.6, 65e-6, 2e-9, 12e-15)
    assert p.read_currents == pytest.approx((0.1 / 50e3, 0.1 / 100e3))   # Ohm's law at -100 mV


@pytest.mark.parametrize("bad,match", [
    (lambda a: a.step([("copy", [0, 0], [1, 2])]), "written twice"),
    (lambda a: a.step([("copy", 0, 1), ("set", 0, 1)]), "written twice"),
    (lambda a: a.step([("nand", 0, 1)]), "kind must be one of"),
    (lambda a: a.step([("copy", 9, 1)]), "row indices in 0 .. 7"),
    (lambda a: a.step([("copy", [0, 1, 2], [3, 4])]), "src has 2 rows"),
    (lambda a: a.step([("set", 0, 2)]), "constant 0 or 1"),
    (lambda a: a.step([("and", 0, "key")]), "rows or 'latch'"),
    (lambda a: a.load([0], np.ones((1, 3), bool)), r"shape \(1, 4\)"),
    (lambda a: a.search([0, 1], [1]), "one bit per searched row"),
    (lambda a: a.alloc(9), "rows exhausted"),
])
def test_bad_operations_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        bad(SubArray(rows=8, cols=4))


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="r_off must be > r_on"):
        CellParams(r_on=2e5)
    with pytest.raises(ValueError, match="t_read"):
        CellParams(t_read=0)
    with pytest.raises(ValueError, match="lanes"):
        SubArray(cols=8, lanes=9)
    with pytest.raises(TypeError, match="CellParams"):
        SubArray(params={"t_read": 1})


def test_schedule_tallies_count_cells_whatever_the_enables(rng):
    arr, _ = _random_array(rng)
    with arr.phase("p"):
        arr.step([("copy", [0, 1, 2], [8, 9, 10]), ("set", 3, 1)], enable=4)   # 4 cells, some columns only
        arr.tally("fa_bits", 7)
    arr.step([("not", 5, None)])
    assert arr.tallies == {"p": {"cell_ops": 4, "fa_bits": 7}, "other": {"cell_ops": 1}}


def test_peak_live_reuses_a_cell_after_its_last_access():
    """Intervals from first to last access: a chain of copies needs one cell, two values read together
    need two, a host-loaded row is live from the start and a dumped row to the end."""
    arr = SubArray(rows=8, cols=4)
    arr.load([0], np.ones((1, 4), bool))
    with arr.phase("chain"):
        arr.step([("copy", 1, 0)])
        arr.step([("copy", 2, 1)])          # row 1 read for the last time as row 2 is written: one cell
        arr.step([("copy", 3, 2)])
    assert arr.peak_live([1, 2, 3]) == 1
    with arr.phase("pair"):
        arr.step([("copy", [4, 5], [3, 3])])
        arr.step([("xor", 4, 5)])           # rows 4 and 5 live together
        arr.step([("set", 6, 0)])           # a dead write still needs its cell for that step
    arr.dump([4])
    assert arr.peak_live() == 2 and arr.peak_live([4, 5, 6]) == 2
    assert arr.peak_live(list(range(7))) == 2    # row 0 (host load) is read for the last time in step 1
    assert arr.peak_live(phases=["chain"]) == 1 and arr.peak_live(phases=["pair"]) == 2
    arr.step([("set", 7, 1)])
    assert arr.peak_live([4, 7]) == 1            # row 4's last access (the dump) came before row 7's write
    arr.search([4], [True])                      # a search is an access: row 4 is live again until then
    assert arr.peak_live([4, 7]) == 2
    host = SubArray(rows=4, cols=4)
    host.load([0], np.ones((1, 4), bool))
    host.step([("set", 1, 1)])
    host.step([("copy", 2, 0)])
    assert host.peak_live([0, 1, 2]) == 2 and host.peak_live([1, 2]) == 1   # row 0 live from the load
