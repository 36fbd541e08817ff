import sys

from relay_client.cli import main

sys.exit(main())
