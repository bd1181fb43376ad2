"""Download one of the CycleGAN paper's datasets into ROOT/NAME/{trainA,trainB,testA,testB}.

Same as `cyclegan-edu download NAME [--root ROOT] [--mirror BASE_URL] [--list]`:

    python data_scripts/download_cyclegan_dataset.py horse2zebra
    python data_scripts/download_cyclegan_dataset.py --list
    python data_scripts/download_cyclegan_dataset.py maps --mirror https://example.org/cyclegan/datasets
"""

import sys

from cyclegan_edu.cli import main

if __name__ == "__main__":
    sys.exit(main(["download", *sys.argv[1:]]))
