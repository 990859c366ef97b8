"""Speaker panels: questions, votes and speakers' answers in a panel or keynote session."""
