"""Use cases: what the bot does, on top of the domain and behind small ports."""
