"""``python -m spikegan_tf`` runs the ``spikegan`` command line."""

import sys

from spikegan_tf.cli import main

sys.exit(main())
