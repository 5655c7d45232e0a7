"""Run the pii_gen command line from a source checkout: ``python pii_gen.py generate ...``.

Imported as a module (``import pii_gen`` with this folder first on the path),
it hands over to the real package in ``src/`` so the name means one thing.
"""
import sys
from pathlib import Path

_SRC = str(Path(__file__).resolve().parent / "src")
if _SRC in sys.path:
    sys.path.remove(_SRC)
sys.path.insert(0, _SRC)

if __name__ == "__main__":
    from pii_gen.cli import main

    main()
else:
    del sys.modules[__name__]
    import pii_gen  # noqa: F401  (the package in src/ replaces this module)
