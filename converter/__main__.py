"""`python -m converter` is the CLI."""

from converter.cli import main

main()
