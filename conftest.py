"""pytest runs the notebooks (nbval, --nbval-lax) in smoke mode: seconds each, every cell executed.

Set CYCLEGAN_EDU_SMOKE=0 to run them at their real settings instead.
"""

import os

os.environ.setdefault("CYCLEGAN_EDU_SMOKE", "1")
