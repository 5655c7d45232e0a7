"""``python -m pii_gen.spark ARGS`` and ``spark-submit <this file> ARGS``: ``pii_gen generate --engine spark ARGS``
(the master, executors and memory are spark-submit's; the session it starts is the one used).

Imports are absolute: spark-submit runs this file as a script, outside its package.
"""

import sys

from pii_gen.cli import main

if __name__ == "__main__":
    main(["generate", "--engine", "spark", *sys.argv[1:]])
