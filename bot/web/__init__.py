"""Plain HTTP endpoints that are neither Teams nor an integration's webhook."""
