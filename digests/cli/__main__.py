"""``python -m digests.cli``: the engine's commands, without the bot's."""

import sys

from digests.cli import main

sys.exit(main())
