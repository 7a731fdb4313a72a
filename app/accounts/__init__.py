"""Users, roles, personal tokens, page sessions and the permission every route declares."""
