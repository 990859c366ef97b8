"""Transcripts: a conference's or session's threads exported as Markdown, HTML, CSV or JSON."""
