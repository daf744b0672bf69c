"""petition-triage: sorts citizens' petitions (信访) and hotline complaints as they arrive."""

__version__ = "0.1.0"
