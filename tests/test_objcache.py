"""The OBJCACHE hook (scripts/toolchain/objcache.py): the run-time library is compiled once per command line,
source and headers; everything else always compiles."""

import os
import stat
import sys

import pytest

from scripts.toolchain import objcache


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A Verilator root with one library source and header, a design source, and a 'compiler' that writes its
    arguments into the object and counts its runs."""
    root = tmp_path / "vroot"
    (root / "include").mkdir(parents=True)
    (root / "include" / "verilated.cpp").write_text("int lib;\n")
    (root / "include" / "verilated.h").write_text("// header\n")
    (tmp_path / "Vtop.cpp").write_text("int design;\n")
    cc = tmp_path / "cc"
    cc.write_text(f"#!{sys.executable}\n"
                  "import sys, pathlib\n"
                  "args = sys.argv[1:]\n"
                  "log = pathlib.Path(__file__).with_name('runs.log')\n"
                  "log.write_text(log.read_text() + 'x' if log.exists() else 'x')\n"
                  "pathlib.Path(args[args.index('-o') + 1]).write_text(' '.join(args[:-1]) + open(args[-1]).read())\n")
    cc.chmod(cc.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("VERILATOR_ROOT", str(root))
    monkeypatch.delenv("MRAM_NO_OBJCACHE", raising=False)
    monkeypatch.chdir(tmp_path)

    def compile_(src, *flags, out="out.o"):
        rc = objcache.main([str(tmp_path / "cache"), str(cc), *flags, "-c", "-o", out, str(src)])
        runs = len((tmp_path / "runs.log").read_text()) if (tmp_path / "runs.log").exists() else 0
        return rc, runs, (tmp_path / out).read_text()

    return root, tmp_path, compile_


def test_library_objects_compile_once_per_command_line(fake):
    root, tmp, compile_ = fake
    lib = root / "include" / "verilated.cpp"
    rc, runs, first = compile_(lib, "-Os", "-DVM_COVERAGE=0")
    assert (rc, runs) == (0, 1)
    rc, runs, again = compile_(lib, "-Os", "-DVM_COVERAGE=0", out="other.o")   # another build's object name
    assert (rc, runs, again) == (0, 1, first)                                   # copied, not compiled
    _, runs, cov = compile_(lib, "-Os", "-DVM_COVERAGE=1")                        # a coverage build's flags
    assert runs == 2 and "VM_COVERAGE=1" in cov
    (root / "include" / "verilated.h").write_text("// header, new version\n")  # a reinstalled Verilator
    os.utime(root / "include" / "verilated.h", ns=(1, 1))
    assert compile_(lib, "-Os", "-DVM_COVERAGE=0")[1] == 3
    lib.write_text("int lib2;\n")                                               # another source
    _, runs, text = compile_(lib, "-Os", "-DVM_COVERAGE=0")
    assert runs == 4 and text.endswith("int lib2;\n")


def test_design_sources_always_compile(fake, monkeypatch):
    root, tmp, compile_ = fake
    for n in (1, 2):
        assert compile_(tmp / "Vtop.cpp", "-O1")[:2] == (0, n)
    monkeypatch.setenv("MRAM_NO_OBJCACHE", "1")                                 # the switch turns it off
    lib = root / "include" / "verilated.cpp"
    assert compile_(lib, "-Os")[1] == 3
    assert compile_(lib, "-Os")[1] == 4
    assert not (tmp / "cache").exists()


def test_a_failed_compile_is_not_cached(fake):
    root, tmp, compile_ = fake
    lib = root / "include" / "verilated.cpp"
    rc = objcache.main([str(tmp / "cache"), sys.executable, "-c", "import sys; sys.exit(3)", "-c", "-o", "x.o",
                        str(lib)])
    assert rc == 3 and not list((tmp / "cache").glob("*.o")) and not (tmp / "x.o").exists()
