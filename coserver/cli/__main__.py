"""``python -m coserver.cli``."""

from coserver.cli import main

if __name__ == "__main__":
    main()
