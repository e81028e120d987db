"""The application core: what the bot does with an inbound event, with no Teams SDK in sight."""
