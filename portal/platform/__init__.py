"""Platform pages: the start page, the operator's pages, health and the accessibility statement."""
