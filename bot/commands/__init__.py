"""Chat commands: registered handlers that turn a request into replies, with no SDK imports."""
