"""The web pages for reviewers and supervisors: pages, server-side sessions, templates and static files."""
