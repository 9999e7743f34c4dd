"""``python -m asyncssl.bench SUITE …`` (the same as ``python -m asyncssl bench SUITE …``)."""

import sys

from . import main

sys.exit(main())
