"""Command-line tools: python -m bot roster import FILE | roster export | handbook … | jobs list | jobs retry ID|--all | demo-seed FILE."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
