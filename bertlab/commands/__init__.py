"""CLI sub-commands; see bertlab/cli.py for the contract each module follows."""
