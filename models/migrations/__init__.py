"""Numbered schema migrations, applied in order by models.migrate."""
