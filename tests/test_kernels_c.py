"""framer's C byte kernels built and tested on their own, as a C program.

``tests/kernels/test_kernels.c`` links ``framer/_kernels.c`` with an embedded
CPython (whose strict decoder is the UTF-8 reference) and checks every kernel
at every length and alignment, with the AVX2 kernels on and off.  Skipped
where there is no C compiler or no shared libpython to link with.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KERNELS = ROOT / "framer" / "_kernels.c"
PROGRAM = ROOT / "tests" / "kernels" / "test_kernels.c"


def _link_flags() -> list[str]:
    libdir = sysconfig.get_config_var("LIBDIR")
    version = sysconfig.get_config_var("LDVERSION") or sysconfig.get_config_var("VERSION")
    if sys.platform == "win32" or not sysconfig.get_config_var("Py_ENABLE_SHARED") or not libdir:
        pytest.skip("no shared libpython to link the kernel test program with")
    return [f"-L{libdir}", f"-lpython{version}", f"-Wl,-rpath,{libdir}"]


def test_c_kernels_agree_with_references(tmp_path: Path) -> None:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    include = sysconfig.get_paths()["include"]
    exe = tmp_path / "test_kernels"
    build = subprocess.run(
        [compiler, "-O2", "-Wall", "-Wextra", "-Werror", f"-I{KERNELS.parent}", f"-I{include}",
         str(PROGRAM), str(KERNELS), "-o", str(exe), *_link_flags()],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "0 failures"
    assert "kernels: portable" in run.stdout
