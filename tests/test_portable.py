"""Math that shapes the output gives the same bits on every CPU: Arrow's (the C library's) functions, sums in
index order, stable sorts; and no code that shapes the output calls numpy's CPU-dispatched kernels."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from pii_gen.core import portable

SRC = Path(__file__).resolve().parents[1] / "src" / "pii_gen"
X = np.random.default_rng(3).normal(0, 3, 5_000)


@pytest.mark.parametrize("name, reference, values", [
    ("exp", math.exp, X), ("log", math.log, np.abs(X) + 1e-3), ("log1p", math.log1p, np.abs(X)),
    ("tanh", math.tanh, X),
])  # fmt: skip
def test_functions_are_the_c_librarys_bit_for_bit(name, reference, values):
    got = getattr(portable, name)(values.reshape(50, 100))
    assert got.shape == (50, 100)
    assert got.reshape(-1).tolist() == [reference(v) for v in values]


def test_power_broadcasts_like_numpy_and_is_the_c_librarys():
    base = np.abs(X[:100]) + 0.5
    assert portable.power(base, 1.1).tolist() == [math.pow(b, 1.1) for b in base]
    assert portable.power(10.0, X[:100]).tolist() == [math.pow(10.0, e) for e in X[:100]]
    assert portable.power(np.ones((2, 3)), np.arange(3.0)).shape == (2, 3)


def test_matmul_sums_each_entry_in_index_order():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(4, 37)), rng.normal(size=(37, 5))
    want = [[0.0] * 5 for _ in range(4)]
    for i in range(4):
        for j in range(5):
            for k in range(37):
                want[i][j] += a[i, k] * b[k, j]
    assert portable.matmul(a, b).tolist() == want
    assert portable.matmul(a[0], b).tolist() == want[0]
    assert portable.matmul(a, b[:, 0]).tolist() == [row[0] for row in want]
    assert float(portable.matmul(a[0], a[0])) == pytest.approx(float(a[0] @ a[0]))
    with pytest.raises(ValueError, match="do not align"):
        portable.matmul(a, a)


def test_argsort_keeps_ties_in_their_order():
    values = np.array([3, 1, 2, 1, 3, 1] * 50)
    order = portable.argsort(values)
    assert values[order].tolist() == sorted(values.tolist())
    ones = order[: 150]
    assert ones.tolist() == sorted(ones.tolist())


# numpy's ufuncs and routines that pick a kernel by the CPU (plain arithmetic and sqrt are exact everywhere).
DISPATCHED = re.compile(r"\bnp\.(exp|expm1|log|log1p|log2|log10|power|float_power|tanh|sinh|cosh|sin|cos|tan|arcsin|"
                        r"arccos|arctan|arctan2|cbrt|einsum|dot|matmul|inner|tensordot)\b|\w\s@\s\w")  # fmt: skip


def test_no_code_that_shapes_the_output_calls_a_cpu_dispatched_kernel():
    """The validator only reports (its figures may differ in the last bit); everything else makes rows."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("validate/") or rel == "core/portable.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if DISPATCHED.search(code) or ("np.argsort(" in code and "stable" not in code):
                found.append(f"{rel}:{number}: {line.strip()}")
    assert found == []
