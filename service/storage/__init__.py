"""Storage: the database, its tables and migrations, cases and their corrections, stored duplicate links and hot issues."""
