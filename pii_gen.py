"""Run the pii_gen command line from a source checkout: ``python pii_gen.py generate ...``.

Imported as a module (``import pii_gen`` with this folder first on the path),
it hands over to the real package in ``src/`` so the name means one thing.
"""
import os
import sys

# os.path rather than pathlib: pathlib's imports would widen the moment a Ctrl-C ends in a traceback.
_SRC = os.path.join(os.path.dirname(os.path.realpath(__file__)), "src")
if _SRC in sys.path:
    sys.path.remove(_SRC)
sys.path.insert(0, _SRC)

if __name__ == "__main__":
    try:
        from pii_gen.__main__ import main
    except KeyboardInterrupt:
        sys.stderr.write("pii_gen: interrupted; nothing was written\n")
        sys.exit(130)
    main()
else:
    del sys.modules[__name__]
    import pii_gen  # noqa: F401  (the package in src/ replaces this module)
