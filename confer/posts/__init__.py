"""Posts: writing, editing and deleting them, and how each reader sees one."""
