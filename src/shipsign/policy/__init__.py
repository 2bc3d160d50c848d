"""The project's policy file (`.shipsign.toml`) and its export to admission engines.

`config` finds, parses and checks the file; `patterns` holds the regex and glob rules every
engine must read alike; `export*` write each engine's configuration; `starter` writes a first
file from the GitHub context.
"""
