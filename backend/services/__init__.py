"""Services: the application logic the API and CLI share (over db and designspace)."""
