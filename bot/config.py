"""Settings from the environment, checked once at start-up."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .domain.ids import is_guid

BOT_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")
_TABLE_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,39}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class ConfigError(ValueError):
    """A setting is missing, invalid or contradicts another; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment."""

    bot_id: str = ""
    bot_password: str = field(default="", repr=False)
    bot_type: str = "MultiTenant"
    bot_tenant_id: str = ""
    allow_unauthenticated: bool = False
    host: str = "127.0.0.1"
    port: int = 3978
    tables_connection_string: str = field(default="", repr=False)
    tables_endpoint: str = ""
    table_prefix: str = "support"
    team_timezone: str = "Europe/Berlin"
    allowed_tenant_ids: frozenset[str] = frozenset()
    openid_metadata_url: str = ""
    token_issuer: str = ""
    max_body_bytes: int = 256 * 1024
    log_level: str = "INFO"
    support_config: str = ""
    first_response_target_seconds: int = 300
    lead_escalation_seconds: int = 600
    jira_base_url: str = ""
    jira_email: str = ""
    jira_api_token: str = field(default="", repr=False)
    job_poll_seconds: float = 1.0
    job_give_up_seconds: int = 21600
    ticket_retry_seconds: float = 60.0
    bugsnag_webhook_secret: str = field(default="", repr=False)
    bugsnag_project_ids: frozenset[str] = frozenset()
    alert_escalation_seconds: int = 600
    alerts_channel_id: str = ""
    teams_service_url: str = "https://smba.trafficmanager.net/emea/"
    team_group_id: str = ""
    graph_tenant_id: str = ""
    graph_client_id: str = ""
    graph_client_secret: str = field(default="", repr=False)
    graph_managed_identity_client_id: str = ""
    applicationinsights_connection_string: str = field(default="", repr=False)
    calendar_feed_token: str = field(default="", repr=False)
    teams_sdk: str = "botbuilder"

    @property
    def authenticated(self) -> bool:
        """True when incoming requests must carry a valid Bot Framework token."""
        return bool(self.bot_id)

    @property
    def tz(self) -> ZoneInfo:
        """The team's time zone."""
        return ZoneInfo(self.team_timezone)


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(name, f"expected true or false, got {raw!r}")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"must be between {low} and {high}, got {value}")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _auth(env: Mapping[str, str]) -> dict:
    bot_id = env.get("BOT_ID", "").strip()
    password = env.get("BOT_PASSWORD", "")
    bot_type = env.get("BOT_TYPE", "").strip() or "MultiTenant"
    tenant = env.get("BOT_TENANT_ID", "").strip()
    unauthenticated = _flag(env, "ALLOW_UNAUTHENTICATED")
    if bot_type not in BOT_TYPES:
        raise ConfigError("BOT_TYPE", f"must be one of {', '.join(BOT_TYPES)}, got {bot_type!r}")
    if unauthenticated and bot_id:
        raise ConfigError("ALLOW_UNAUTHENTICATED", "must not be true while BOT_ID is set")
    if not bot_id:
        if not unauthenticated:
            raise ConfigError(
                "BOT_ID", "is not set; set it, or set ALLOW_UNAUTHENTICATED=true for local mode"
            )
        return {"allow_unauthenticated": True}
    if not is_guid(bot_id):
        raise ConfigError("BOT_ID", "must be the bot's Microsoft App ID (a GUID)")
    if tenant and not is_guid(tenant):
        raise ConfigError("BOT_TENANT_ID", "must be a tenant id (a GUID)")
    if bot_type in ("SingleTenant", "UserAssignedMSI") and not tenant:
        raise ConfigError("BOT_TENANT_ID", f"is required when BOT_TYPE={bot_type}")
    if bot_type == "UserAssignedMSI" and password:
        raise ConfigError("BOT_PASSWORD", "must be empty when BOT_TYPE=UserAssignedMSI")
    if bot_type != "UserAssignedMSI" and not password:
        raise ConfigError("BOT_PASSWORD", f"is required when BOT_TYPE={bot_type}")
    return {"bot_id": bot_id, "bot_password": password, "bot_type": bot_type, "bot_tenant_id": tenant}


def _tables(env: Mapping[str, str]) -> dict:
    connection = env.get("TABLES_CONNECTION_STRING", "").strip()
    endpoint = env.get("TABLES_ENDPOINT", "").strip()
    if connection and endpoint:
        raise ConfigError("TABLES_ENDPOINT", "set either TABLES_CONNECTION_STRING or TABLES_ENDPOINT, not both")
    if not connection and not endpoint:
        raise ConfigError(
            "TABLES_CONNECTION_STRING", "is not set (nor TABLES_ENDPOINT for managed identity)"
        )
    if endpoint and not endpoint.startswith("https://"):
        raise ConfigError("TABLES_ENDPOINT", "must be an https:// URL")
    prefix = env.get("TABLE_PREFIX", "").strip() or "support"
    if not _TABLE_PREFIX.match(prefix):
        raise ConfigError("TABLE_PREFIX", "must start with a letter and hold only letters and digits (max 40)")
    return {"tables_connection_string": connection, "tables_endpoint": endpoint, "table_prefix": prefix}


def _tenants(env: Mapping[str, str]) -> frozenset[str]:
    ids = {part.strip().lower() for part in env.get("ALLOWED_TENANT_IDS", "").split(",") if part.strip()}
    for tenant in ids:
        if not is_guid(tenant):
            raise ConfigError("ALLOWED_TENANT_IDS", f"{tenant!r} is not a tenant id (a GUID)")
    return frozenset(ids)


def _timezone(env: Mapping[str, str]) -> str:
    name = env.get("TEAM_TIMEZONE", "").strip() or "Europe/Berlin"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("TEAM_TIMEZONE", f"unknown time zone {name!r}") from None
    return name


def _jira(env: Mapping[str, str]) -> dict:
    base = env.get("JIRA_BASE_URL", "").strip().rstrip("/")
    email = env.get("JIRA_EMAIL", "").strip()
    token = env.get("JIRA_API_TOKEN", "").strip()
    if not (base or email or token):
        return {}
    for name, value in (("JIRA_BASE_URL", base), ("JIRA_EMAIL", email), ("JIRA_API_TOKEN", token)):
        if not value:
            raise ConfigError(name, "is required when any JIRA_* variable is set")
    host = base.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    if not base.startswith("https://") and not (base.startswith("http://") and _is_loopback(host)):
        raise ConfigError("JIRA_BASE_URL", "must be an https:// URL such as https://yourcompany.atlassian.net")
    if "@" not in email:
        raise ConfigError("JIRA_EMAIL", "must be the Jira account's e-mail address")
    return {"jira_base_url": base, "jira_email": email, "jira_api_token": token}


def _escalation(env: Mapping[str, str]) -> dict:
    target = _int(env, "FIRST_RESPONSE_TARGET_SECONDS", 300, 1, 24 * 3600)
    lead = _int(env, "LEAD_ESCALATION_SECONDS", 600, 1, 48 * 3600)
    if lead <= target:
        raise ConfigError("LEAD_ESCALATION_SECONDS", f"must be later than FIRST_RESPONSE_TARGET_SECONDS ({target})")
    return {"first_response_target_seconds": target, "lead_escalation_seconds": lead}


def _bugsnag(env: Mapping[str, str]) -> dict:
    secret = env.get("BUGSNAG_WEBHOOK_SECRET", "").strip()
    if secret and (len(secret) < 24 or not secret.replace("-", "").replace("_", "").isalnum()):
        raise ConfigError("BUGSNAG_WEBHOOK_SECRET", "must be at least 24 letters, digits, - or _ (it is part of a URL)")
    projects = frozenset(p.strip() for p in env.get("BUGSNAG_PROJECT_IDS", "").split(",") if p.strip())
    channel = env.get("ALERTS_CHANNEL_ID", "").strip()
    if channel and not channel.startswith("19:"):
        raise ConfigError("ALERTS_CHANNEL_ID", "must be a Teams channel id (19:…@thread.tacv2)")
    service_url = env.get("TEAMS_SERVICE_URL", "").strip() or "https://smba.trafficmanager.net/emea/"
    if not service_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError("TEAMS_SERVICE_URL", "must be an https:// URL")
    return {
        "bugsnag_webhook_secret": secret,
        "bugsnag_project_ids": projects,
        "alert_escalation_seconds": _int(env, "ALERT_ESCALATION_SECONDS", 600, 1, 48 * 3600),
        "alerts_channel_id": channel,
        "teams_service_url": service_url,
    }


def _feed_token(env: Mapping[str, str]) -> str:
    token = env.get("CALENDAR_FEED_TOKEN", "").strip()
    # The token is the feed's only protection and sits in subscribers' URLs: long, and URL-safe as typed.
    if token and (len(token) < 24 or not token.replace("-", "").replace("_", "").isalnum() or not token.isascii()):
        raise ConfigError("CALENDAR_FEED_TOKEN", "must be at least 24 letters, digits, - or _ (it is part of a URL)")
    return token


def _graph(env: Mapping[str, str], auth: dict) -> dict:
    group = env.get("TEAM_GROUP_ID", "").strip()
    if not group:
        return {}
    if not is_guid(group):
        raise ConfigError("TEAM_GROUP_ID", "must be the team's Entra group id (a GUID)")
    tenant = env.get("GRAPH_TENANT_ID", "").strip() or auth.get("bot_tenant_id", "")
    client = env.get("GRAPH_CLIENT_ID", "").strip() or auth.get("bot_id", "")
    if not is_guid(tenant):
        raise ConfigError("GRAPH_TENANT_ID", "is required for TEAM_GROUP_ID (or set BOT_TENANT_ID)")
    if not is_guid(client):
        raise ConfigError("GRAPH_CLIENT_ID", "is required for TEAM_GROUP_ID (or set BOT_ID)")
    return {
        "team_group_id": group.lower(),
        "graph_tenant_id": tenant,
        "graph_client_id": client,
        "graph_client_secret": env.get("GRAPH_CLIENT_SECRET", "").strip(),
        "graph_managed_identity_client_id": env.get("GRAPH_MANAGED_IDENTITY_CLIENT_ID", "").strip(),
    }


TEAMS_SDKS = ("botbuilder", "agents")


def _teams_sdk(env: Mapping[str, str]) -> str:
    value = env.get("TEAMS_SDK", "").strip().lower() or "botbuilder"
    if value not in TEAMS_SDKS:
        raise ConfigError("TEAMS_SDK", f"must be botbuilder or agents, got {value!r}")
    return value


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping, or raise ConfigError naming the variable."""
    auth = _auth(env)
    unauthenticated = auth.get("allow_unauthenticated", False)
    host = env.get("HOST", "").strip() or ("127.0.0.1" if unauthenticated else "0.0.0.0")
    if unauthenticated and not _is_loopback(host):
        raise ConfigError("HOST", "local mode (ALLOW_UNAUTHENTICATED=true) binds to loopback only")
    metadata = env.get("BOT_OPENID_METADATA_URL", "").strip()
    issuer = env.get("BOT_TOKEN_ISSUER", "").strip()
    if bool(metadata) != bool(issuer):
        raise ConfigError("BOT_TOKEN_ISSUER", "set together with BOT_OPENID_METADATA_URL, or neither")
    level = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("LOG_LEVEL", f"must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    return Settings(
        **auth,
        host=host,
        port=_int(env, "PORT", 3978, 1, 65535),
        **_tables(env),
        team_timezone=_timezone(env),
        allowed_tenant_ids=_tenants(env),
        openid_metadata_url=metadata,
        token_issuer=issuer,
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 256 * 1024, 1024, 4 * 1024 * 1024),
        log_level=level,
        support_config=env.get("SUPPORT_CONFIG", "").strip(),
        **_escalation(env),
        **_jira(env),
        job_poll_seconds=_int(env, "JOB_POLL_MILLISECONDS", 1000, 50, 60000) / 1000,
        # At least a minute, so a job gets a few backed-off attempts; at most 30 days.
        job_give_up_seconds=_int(env, "JOB_GIVE_UP_SECONDS", 21600, 60, 30 * 86400),
        ticket_retry_seconds=_int(env, "JIRA_RETRY_SECONDS", 60, 1, 3600),
        **_bugsnag(env),
        **_graph(env, auth),
        applicationinsights_connection_string=env.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "").strip(),
        calendar_feed_token=_feed_token(env),
        teams_sdk=_teams_sdk(env),
    )


def load_storage_settings(env: Mapping[str, str]) -> Settings:
    """Only what command-line tools need: the table account, prefix and time zone."""
    return Settings(**_tables(env), team_timezone=_timezone(env))
