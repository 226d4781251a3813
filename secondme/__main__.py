"""``python -m secondme`` runs the ``mem`` command line."""

from secondme.cli import main

if __name__ == "__main__":
    main()
