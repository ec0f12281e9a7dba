"""Build framer's optional C extensions: ``framer._fast`` (``framer/_fast.pyx``),
the frame reader ``framer._reader_c`` (compiled from ``framer/_reader_py.py``
through ``framer/_reader_c.pxd``), the frame writer ``framer._writer_c`` (from
``framer/_writer_py.py`` through ``framer/_writer_c.pxd``), the open connection ``framer._open_c``
(from ``framer/_open_py.py`` through ``framer/_open_c.pxd``), ``WSConnection``
as ``framer._connection_c`` (from ``framer/_connection.py``) and the byte kernels ``framer._kernels_c``
(``framer/_kernels_c.pyx`` over ``framer/_kernels.c``).

Everything else about the package is in pyproject.toml.  The extension is
optional: without a compiler (or Cython), the build says so and installs the
pure-Python twin, which behaves the same, only slower.  Set
``FRAMER_BUILD_EXTENSION=yes`` to make a failed build fatal (CI does), or
``FRAMER_NO_EXTENSIONS=1`` to skip it.  A wheel built without the extension
is tagged ``py3-none-any``, since nothing in it is specific to a platform.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

_TRUE = {"1", "true", "yes"}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


REQUIRED = _env_flag("FRAMER_BUILD_EXTENSION")
FAILED: list[str] = []  # the extensions whose build failed (and fell back)
SKIP = _env_flag("FRAMER_NO_EXTENSIONS") and not REQUIRED


def _say(message: str) -> None:
    # pip hides a build's stdout unless -v; stderr lines survive in its log.
    print(f"framer: {message}", file=sys.stderr, flush=True)


class OptionalBuildExt(build_ext):
    """build_ext that falls back to pure Python, loudly, unless told not to."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any failure means "no compiler"
            self._fallback(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self._fallback(exc)
        else:
            _say(f"built the accelerated extension {ext.name} (implementation: compiled)")

    def _fallback(self, exc: BaseException) -> None:
        FAILED.append(str(exc))
        if REQUIRED:
            _say(f"FRAMER_BUILD_EXTENSION=yes and the extension failed to build: {exc}")
            raise exc
        _say(f"could not build the extensions ({exc}); installing pure Python (implementation: pure)")


def _extensions() -> list[Extension]:
    if SKIP:
        _say("FRAMER_NO_EXTENSIONS is set: installing pure Python (implementation: pure)")
        return []
    try:
        from Cython.Build import cythonize
    except ImportError as exc:
        if REQUIRED:
            raise RuntimeError("FRAMER_BUILD_EXTENSION=yes but Cython is not installed") from exc
        _say("Cython is not installed; installing pure Python (implementation: pure)")
        return []
    args = [] if sys.platform == "win32" else ["-O3"]
    here = {"include_dirs": ["framer"], "extra_compile_args": args}
    extensions = [
        # The byte kernels: C (declared in _kernels.h) behind the names of _kernels_py.
        Extension("framer._kernels_c", ["framer/_kernels_c.pyx", "framer/_kernels.c"],
                  depends=["framer/_kernels.h", "framer/_kernels_c.pxd"], **here),
        # The frame rules: _reader_py.py itself, typed by _reader_c.pxd (Cython's
        # pure Python mode), the pure twin's reader compiled over the C kernels.
        Extension("framer._reader_c", ["framer/_reader_py.py"],
                  depends=["framer/_reader_c.pxd", "framer/_kernels_c.pxd"], **here),
        # The send side's frame rules, compiled from _writer_py.py the same way.
        Extension("framer._writer_c", ["framer/_writer_py.py"],
                  depends=["framer/_writer_c.pxd", "framer/_kernels_c.pxd"], **here),
        # The open connection's rules, compiled from _open_py.py the same way.
        Extension("framer._open_c", ["framer/_open_py.py"],
                  depends=["framer/_open_c.pxd", "framer/_reader_c.pxd", "framer/_writer_c.pxd",
                           "framer/_kernels_c.pxd"], **here),
        # WSConnection, compiled from _connection.py the same way (an extension type).
        Extension("framer._connection_c", ["framer/_connection.py"],
                  depends=["framer/_connection_c.pxd"], **here),
        # The compiled twin's interface: the names above, gathered.
        Extension("framer._fast", ["framer/_fast.pyx"], **here),
    ]
    # Annotations are for mypy; the .pxd files alone give Cython its C types.
    directives = {"language_level": "3", "annotation_typing": False,
                  "boundscheck": False, "wraparound": False}
    return cythonize(extensions, compiler_directives=directives, quiet=True)


def _wheel_command() -> dict[str, type]:
    """bdist_wheel that tags the wheel ``py3-none-any`` when the extension's build
    failed and fell back to pure Python (asked before the build, as for an
    editable wheel, it keeps the usual tag)."""
    try:
        from setuptools.command.bdist_wheel import bdist_wheel
    except ImportError:  # setuptools < 70.1
        try:
            from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]
        except ImportError:
            return {}

    class PureWhenFallenBack(bdist_wheel):  # type: ignore[misc, valid-type]
        def get_tag(self) -> tuple[str, str, str]:
            if FAILED:
                return "py3", "none", "any"
            return super().get_tag()  # type: ignore[no-any-return]

    return {"bdist_wheel": PureWhenFallenBack}


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt, **_wheel_command()})
