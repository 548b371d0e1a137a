"""``python -m zohokit`` runs the ``zohokit`` command."""

from zohokit.cli import main

main()
