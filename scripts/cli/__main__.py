"""``python -m scripts.cli``: the same as ``mram-accel``."""

import sys

from scripts.cli import main

if __name__ == "__main__":
    sys.exit(main())
