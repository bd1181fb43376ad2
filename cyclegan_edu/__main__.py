"""`python -m cyclegan_edu` is the `cyclegan-edu` command."""

import sys

from cyclegan_edu.cli import main

sys.exit(main())
