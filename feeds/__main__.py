"""``python -m feeds``: the same as the ``feeds`` command."""

from .cli import main

if __name__ == "__main__":
    main()
