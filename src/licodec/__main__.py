import sys

from licodec.cli import main

sys.exit(main())
