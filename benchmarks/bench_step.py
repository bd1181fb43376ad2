"""The plain training step against the fast one; same as `cyclegan-edu bench`.

    python benchmarks/bench_step.py --size 128 --device cpu
"""

import sys

from cyclegan_edu.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
