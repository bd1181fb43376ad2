"""Download an official pretrained CycleGAN generator to ROOT/NAME.pth.

    python data_scripts/download_pretrained.py horse2zebra
    python data_scripts/download_pretrained.py --list
    python data_scripts/download_pretrained.py style_monet --mirror https://example.org/cyclegan/pretrained_models
"""

from __future__ import annotations

import argparse
import sys

from cyclegan_edu.datasets import PRETRAINED_MODELS, DownloadError, download_pretrained


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", help="generator name, e.g. horse2zebra (see --list)")
    parser.add_argument("--root", default="pretrained", help="folder that receives NAME.pth (default: pretrained)")
    parser.add_argument(
        "--mirror", action="append", metavar="BASE_URL",
        help="base URL serving NAME.pth; repeat to try several in order (replaces the built-in list)",
    )
    parser.add_argument("--list", action="store_true", help="print the generator names and exit")
    args = parser.parse_args(argv)
    if args.name is None and not args.list:
        parser.error("give a generator NAME or --list")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the download and print where the weights are; exit status 1 on failure."""
    args = parse_args(argv)
    if args.list:
        print("\n".join(PRETRAINED_MODELS))
        return 0
    try:
        path = download_pretrained(args.name, root=args.root, mirrors=args.mirror)
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
