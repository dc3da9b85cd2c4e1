"""The benchmark scripts: a small smoke run of each in the default suite (so they keep working), and the
full-size runs behind ``pytest -m bench`` (they print their rates and ratios; nothing is asserted on time)."""

import pytest

from scripts import bench_bitcounter, bench_dse, bench_fp


def test_bench_bitcounter_smoke():
    assert bench_bitcounter.main(["--rows", "500", "--cpp-rows", "20000"]) == 0


def test_bench_fp_smoke():
    assert bench_fp.main(["--vectors", "4000", "--lanes", "8", "--cpp-vectors", "50000"]) == 0


def test_bench_dse_smoke():
    assert bench_dse.main(["--repeat", "1"]) == 0


@pytest.mark.bench
@pytest.mark.parametrize("bench", [bench_bitcounter, bench_fp, bench_dse], ids=lambda m: m.__name__)
def test_bench_full(bench, capsys):
    assert bench.main([]) == 0
    with capsys.disabled():
        print(capsys.readouterr().out)
