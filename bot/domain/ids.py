"""Identifier shapes."""

import re

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_guid(value: object) -> bool:
    """True for a GUID such as an Entra object id, tenant id or app id."""
    return isinstance(value, str) and bool(_GUID.match(value))
