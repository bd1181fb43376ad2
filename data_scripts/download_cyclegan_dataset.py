"""Download one of the CycleGAN paper's datasets into ROOT/NAME/{trainA,trainB,testA,testB}.

    python data_scripts/download_cyclegan_dataset.py horse2zebra
    python data_scripts/download_cyclegan_dataset.py --list
    python data_scripts/download_cyclegan_dataset.py maps --mirror https://example.org/cyclegan/datasets
"""

from __future__ import annotations

import argparse
import sys

from cyclegan_edu.datasets import DownloadError, dataset_table, download_dataset


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", help="dataset name, e.g. horse2zebra (see --list)")
    parser.add_argument("--root", default="datasets", help="folder that receives NAME/ (default: datasets)")
    parser.add_argument(
        "--mirror", action="append", metavar="BASE_URL",
        help="base URL serving NAME.zip; repeat to try several in order (replaces the built-in list)",
    )
    parser.add_argument("--list", action="store_true", help="print the datasets with their image counts and exit")
    args = parser.parse_args(argv)
    if args.name is None and not args.list:
        parser.error("give a dataset NAME or --list")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the download and print where the dataset is; exit status 1 on failure."""
    args = parse_args(argv)
    if args.list:
        print(dataset_table())
        return 0
    try:
        path = download_dataset(args.name, root=args.root, mirrors=args.mirror)
    except (DownloadError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume the download", file=sys.stderr)
        return 130
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
