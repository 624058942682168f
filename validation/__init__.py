"""Validation study: the closed-form Shannon model against packet-level ns-3."""
