"""Turn two folders of your own images into a CycleGAN dataset.

Same as `cyclegan-edu prepare A_DIR B_DIR OUT [--test-fraction 0.1] [--size 256] [--seed 0]`:

    python data_scripts/prepare_custom_dataset.py my_photos/ my_paintings/ datasets/mine --size 256
"""

import sys

from cyclegan_edu.cli import main

if __name__ == "__main__":
    sys.exit(main(["prepare", *sys.argv[1:]]))
