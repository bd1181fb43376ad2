"""Download an official pretrained CycleGAN generator to ROOT/NAME.pth.

Same as `cyclegan-edu download --pretrained NAME [--root ROOT] [--mirror BASE_URL] [--list]`:

    python data_scripts/download_pretrained.py horse2zebra
    python data_scripts/download_pretrained.py --list
    python data_scripts/download_pretrained.py style_monet --mirror https://example.org/cyclegan/pretrained_models
"""

import sys

from cyclegan_edu.cli import main

if __name__ == "__main__":
    sys.exit(main(["download", "--pretrained", *sys.argv[1:]]))
