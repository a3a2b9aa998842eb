"""``python -m colorizer`` runs the command line."""
import sys

from colorizer.cli import main

sys.exit(main())
