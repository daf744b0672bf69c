"""Offices: where a case goes — the routing table (department × place × keywords → the office that acts) kept in force."""
