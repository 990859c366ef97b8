"""The participation report for organisers, with its server-rendered charts."""
