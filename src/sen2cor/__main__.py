"""``python -m sen2cor``: the ``L2A_Process`` command line."""

import sys

from sen2cor.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
