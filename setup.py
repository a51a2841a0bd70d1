"""Builds flowopt's one compiled extension, ``flowopt._loops`` (Cython); everything else is in pyproject.toml.

The extension is optional: where it cannot be compiled (no C compiler or Python headers) the install still
succeeds, with a warning, and flowopt computes the same numbers with the kernels' NumPy versions, more slowly
(``flowopt --version`` says which are in use).
"""

import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

# no fused multiply-add: the loops must give the NumPy versions' floats exactly (MSVC does not contract)
flags = ["/O2"] if sys.platform == "win32" else ["-O3", "-ffp-contract=off"]
extensions = cythonize(
    [Extension("flowopt._loops", ["src/flowopt/_loops.pyx"], extra_compile_args=flags)],
    compiler_directives={"language_level": "3"}, quiet=True)
for ext in extensions:
    ext.optional = True  # cythonize does not carry the flag over
setup(ext_modules=extensions)
