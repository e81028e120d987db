"""The Teams adapter on botbuilder 4.17.1 (the default, TEAMS_SDK=botbuilder): the only package that imports it."""

from .edge import TeamsEdge, build

__all__ = ["TeamsEdge", "build"]
