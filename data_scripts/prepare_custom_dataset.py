"""Turn two folders of your own images into a CycleGAN dataset.

    python data_scripts/prepare_custom_dataset.py A_DIR B_DIR OUT [--test-fraction 0.1] [--size 256]
"""

import argparse
import sys

from cyclegan_edu.data import DataError
from cyclegan_edu.prepare import prepare_custom_dataset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a_dir", help="folder of domain A images (searched recursively)")
    parser.add_argument("b_dir", help="folder of domain B images")
    parser.add_argument("out", help="new folder for trainA/, trainB/, testA/, testB/")
    parser.add_argument("--test-fraction", type=float, default=0.1, help="share of each domain kept for testing")
    parser.add_argument("--size", type=int, default=None, help="scale the shorter side to SIZE pixels (e.g. 256)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/test split")
    args = parser.parse_args()
    try:
        result = prepare_custom_dataset(args.a_dir, args.b_dir, args.out, args.test_fraction, args.size, args.seed)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {result.root}: " + ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())))
    for path, reason in result.skipped:
        print(f"skipped {path}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
