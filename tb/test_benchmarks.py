"""The benchmark scripts: a small smoke run of each in the default suite (so they keep working), and the
full-size runs behind ``pytest -m bench`` (they print their rates and ratios; nothing is asserted on time).

The fp smoke run uses one lane: an N-lane wrapper is one more Verilator build (about a minute for 8 lanes) that
the default suite need not pay; ``tb/test_cosim.py`` already checks the 8-lane MAC.
"""

import subprocess
import sys

import pytest

from scripts.bench import bcnn as bench_bcnn
from scripts.bench import bitcounter as bench_bitcounter
from scripts.bench import dse as bench_dse
from scripts.bench import fp as bench_fp
from scripts.bench import network as bench_network
from scripts.bench import packed as bench_packed
from scripts.bench import pe_array as bench_pe_array


def test_bench_bitcounter_smoke():
    assert bench_bitcounter.main(["--rows", "500", "--cpp-rows", "20000"]) == 0


def test_bench_fp_smoke():
    assert bench_fp.main(["--vectors", "4000", "--lanes", "1", "--cpp-vectors", "50000"]) == 0


def test_bench_dse_smoke():
    assert bench_dse.main(["--repeat", "1"]) == 0


def test_bench_packed_smoke(capsys, tmp_path):
    """The packed-lane benchmark on the bitcounter's stream build of the default suite
    (``tb/test_cosim.py::test_packed``, 16 lanes; its C++ harness is the quickest of the three to build): cocotb
    against the C++ harness on the same design, and where a cycle goes."""
    out = tmp_path / "packed.json"
    assert bench_packed.main(["--blocks", "bitcounter", "--lanes", "16", "--vectors", "320000", "--io", "stream",
                              "--repeat", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "C++ harness" in text and "where a stream-path cycle goes" in text and "goal: C++ within 1.5x" in text
    import json
    saved = json.loads(out.read_text())["blocks"]["bitcounter_p16"]
    assert saved["cpp_per_s"] > 0 and saved["cocotb_per_s"]["stream"] > 0 and "met" in saved


def test_bench_network_smoke(capsys):
    """Issue 19 item 8: the digits CNN on the 2 x 2-PE accelerator (the build of ``tb/test_network.py``): simulated
    cycles per second and where the loop's time goes."""
    assert bench_network.main(["--images", "1"]) == 0
    out = capsys.readouterr().out
    assert "simulated cycles/s" in out and "where the (profiled) loop" in out and "bit-exact against the golden: True" in out


def test_bench_bcnn_smoke(capsys):
    assert bench_bcnn.main(["--n", "8", "--k", "300", "--m", "4", "--rtl-n", "2", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "ratio to numpy" in out and "RTL (Verilator, cocotb)" in out


@pytest.mark.parametrize("bench,flag", [(bench_bitcounter, "--rows"), (bench_fp, "--lanes"), (bench_bcnn, "--k")],
                         ids=lambda x: getattr(x, "__name__", x))
def test_bench_bad_flag(bench, flag, tmp_path):
    """A plain program (``python scripts/bench_*.py``) from another directory: a bad value exits 2 naming the
    flag and its range."""
    proc = subprocess.run([sys.executable, bench.__file__, flag, "0"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert f"{flag} must be in 1.." in proc.stderr.splitlines()[-1]


@pytest.mark.bench
@pytest.mark.parametrize("bench", [bench_bitcounter, bench_fp, bench_dse, bench_bcnn], ids=lambda m: m.__name__)
def test_bench_full(bench, capsys):
    assert bench.main([]) == 0
    with capsys.disabled():
        print(capsys.readouterr().out)


@pytest.mark.parametrize("argv", [
    pytest.param(["--rows", "2", "--cols", "2", "--c", "2", "--hw", "6", "--k", "2", "--no-cold", "--cxx-opt", "O0"],
                 id="smoke"),
    pytest.param([], id="full", marks=pytest.mark.bench),
])
def test_bench_pe_array(argv, capsys):
    """Issue item 9: the layer engine through cocotb and the C++ harness; ``main`` returns 0 only when both outputs
    are bit-exact against ``ref_layer`` and both runs agree on the cycle counts and the GLB/scratchpad counters.
    The smoke run (2 x 2 array, a 6 x 6 x 2 conv, cached builds only) is in the default suite; the full default
    run (4 x 4 array, 16 x 16 x 8 conv, cold builds) under ``-m bench``."""
    assert bench_pe_array.main(argv) == 0
    out = capsys.readouterr().out
    assert "bit-exact against ref_layer: cocotb True, C++ True" in out and "calls" in out  # the profile's top-10
    if not argv:
        with capsys.disabled():
            print(out)
