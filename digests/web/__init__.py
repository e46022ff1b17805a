"""Editions on the web: links with tokens, pages, the ASGI app."""
