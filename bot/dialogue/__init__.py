"""Dialogue engine: conversation state, multi-turn forms and the router that picks a handler."""
