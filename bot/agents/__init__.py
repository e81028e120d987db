"""The Teams adapter on the Microsoft 365 Agents SDK 1.9.0 (TEAMS_SDK=agents): the only package that imports it."""

from .edge import AgentsEdge, build

__all__ = ["AgentsEdge", "build"]
