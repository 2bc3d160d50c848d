"""The GitHub Action front end: `shipsign action` reads INPUT_* and calls the same use cases."""
