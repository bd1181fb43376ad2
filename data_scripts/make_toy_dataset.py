"""Generate the offline toy horse -> zebra dataset (see cyclegan_edu.data.toy_horse2zebra).

Example:
    python data_scripts/make_toy_dataset.py --out datasets/toy_horse2zebra --size 64
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cyclegan_edu.data.toy_horse2zebra import build_toy_dataset


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description="Generate the toy horse -> zebra dataset with exact test ground truth.")
    parser.add_argument("--out", type=Path, required=True, help="folder to create (must not exist or be empty)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--size", type=int, default=64, help="image side in px, a multiple of 4, >= 32 (default: 64)")
    parser.add_argument("--n-train", type=int, default=400, help="images in trainA and in trainB (default: 400)")
    parser.add_argument("--n-test", type=int, default=50, help="images in testA and in testB (default: 50)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the dataset and report where it is; exit status 2 on bad settings."""
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        root = build_toy_dataset(args.out, seed=args.seed, size=args.size, n_train=args.n_train, n_test=args.n_test)
    except (ValueError, FileExistsError) as error:
        print(f"make_toy_dataset: error: {error}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    print(f"{root}: trainA/trainB {args.n_train} each, testA/testB {args.n_test} each (+ truth), "
          f"{args.size} px, seed {args.seed}, {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
