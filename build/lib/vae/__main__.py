import sys

from vae.cli import main

sys.exit(main())
