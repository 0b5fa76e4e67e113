"""API routers, one small module per resource."""
