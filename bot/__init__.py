"""The support-rotation bot for Microsoft Teams."""
