"""Settings: valid combinations load; every invalid one names its variable."""

import pytest

from bot.config import ConfigError, load_settings

GUID = "11111111-2222-3333-4444-555555555555"
TENANT = "3f0c7b52-0000-4000-8000-0000000000aa"
TABLES = {"TABLES_CONNECTION_STRING": "UseDevelopmentStorage=true"}


def test_local_mode_binds_to_loopback_and_is_unauthenticated():
    settings = load_settings({**TABLES, "ALLOW_UNAUTHENTICATED": "true"})
    assert settings.host == "127.0.0.1"
    assert settings.port == 3978
    assert not settings.authenticated
    assert settings.team_timezone == "Europe/Berlin"


def test_authenticated_mode_listens_everywhere_by_default():
    settings = load_settings({**TABLES, "BOT_ID": GUID, "BOT_PASSWORD": "s3cret"})
    assert settings.authenticated
    assert settings.host == "0.0.0.0"
    assert settings.bot_type == "MultiTenant"


def test_secrets_stay_out_of_repr():
    settings = load_settings({"TABLES_CONNECTION_STRING": "AccountKey=topsecretkey", "BOT_ID": GUID, "BOT_PASSWORD": "pa55word"})
    assert "pa55word" not in repr(settings)
    assert "topsecretkey" not in repr(settings)


def test_user_assigned_identity_needs_tenant_and_no_password():
    settings = load_settings({**TABLES, "BOT_ID": GUID, "BOT_TYPE": "UserAssignedMSI", "BOT_TENANT_ID": TENANT})
    assert settings.bot_type == "UserAssignedMSI"


def test_allowed_tenants_are_parsed_lower_case():
    settings = load_settings({**TABLES, "ALLOW_UNAUTHENTICATED": "1", "ALLOWED_TENANT_IDS": f" {TENANT.upper()} , {GUID}"})
    assert settings.allowed_tenant_ids == {TENANT, GUID}


@pytest.mark.parametrize(
    "env, variable",
    [
        pytest.param({**TABLES}, "BOT_ID", id="no-bot-id-and-no-local-flag"),
        pytest.param({**TABLES, "BOT_ID": "not-a-guid", "BOT_PASSWORD": "x"}, "BOT_ID", id="bot-id-not-guid"),
        pytest.param({**TABLES, "BOT_ID": GUID}, "BOT_PASSWORD", id="multitenant-without-password"),
        pytest.param({**TABLES, "BOT_ID": GUID, "BOT_PASSWORD": "x", "BOT_TYPE": "Single"}, "BOT_TYPE", id="unknown-bot-type"),
        pytest.param({**TABLES, "BOT_ID": GUID, "BOT_PASSWORD": "x", "BOT_TYPE": "SingleTenant"}, "BOT_TENANT_ID", id="single-tenant-without-tenant"),
        pytest.param({**TABLES, "BOT_ID": GUID, "BOT_TYPE": "UserAssignedMSI", "BOT_TENANT_ID": TENANT, "BOT_PASSWORD": "x"}, "BOT_PASSWORD", id="msi-with-password"),
        pytest.param({**TABLES, "BOT_ID": GUID, "BOT_PASSWORD": "x", "ALLOW_UNAUTHENTICATED": "true"}, "ALLOW_UNAUTHENTICATED", id="bot-id-and-local-flag"),
        pytest.param({**TABLES, "ALLOW_UNAUTHENTICATED": "maybe"}, "ALLOW_UNAUTHENTICATED", id="flag-not-boolean"),
        pytest.param({**TABLES, "ALLOW_UNAUTHENTICATED": "true", "HOST": "0.0.0.0"}, "HOST", id="local-mode-on-all-interfaces"),
        pytest.param({**TABLES, "ALLOW_UNAUTHENTICATED": "true", "PORT": "70000"}, "PORT", id="port-out-of-range"),
        pytest.param({**TABLES, "ALLOW_UNAUTHENTICATED": "true", "PORT": "http"}, "PORT", id="port-not-number"),
        pytest.param({"ALLOW_UNAUTHENTICATED": "true"}, "TABLES_CONNECTION_STRING", id="no-storage"),
        pytest.param({**TABLES, "TABLES_ENDPOINT": "https://x.table.core.windows.net", "ALLOW_UNAUTHENTICATED": "true"}, "TABLES_ENDPOINT", id="both-storage-settings"),
        pytest.param({"TABLES_ENDPOINT": "http://x", "ALLOW_UNAUTHENTICATED": "true"}, "TABLES_ENDPOINT", id="endpoint-not-https"),
        pytest.param({**TABLES, "ALLOW_UNAUTHENTICATED": "true", "TABLE_PREFIX": "bad-prefix"}, "TABLE_PREFIX", id="prefix-with-dash"),
        pytest.param({**TABLES, "ALLOW_UNAUTHENTICATED": "true", "TEAM_TIMEZONE": "Mars/Olympus"}, "TEAM_TIMEZONE", id="unknown-time-zone"),
        pytest.param({**TABLES, "ALLOW_UNAUTHENTICATED": "true", "ALLOWED_TENANT_IDS": "contoso"}, "ALLOWED_TENANT_IDS", id="tenant-not-guid"),
        pytest.param({**TABLES, "ALLOW_UNAUTHENTICATED": "true", "BOT_OPENID_METADATA_URL": "http://x"}, "BOT_TOKEN_ISSUER", id="metadata-without-issuer"),
        pytest.param({**TABLES, "ALLOW_UNAUTHENTICATED": "true", "LOG_LEVEL": "chatty"}, "LOG_LEVEL", id="unknown-log-level"),
    ],
)
def test_invalid_settings_name_the_variable(env, variable):
    with pytest.raises(ConfigError) as raised:
        load_settings(env)
    assert raised.value.variable == variable
    assert str(raised.value).startswith(f"{variable}: ")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "extra, variable",
    [
        pytest.param({"JIRA_BASE_URL": "https://x.atlassian.net"}, "JIRA_EMAIL", id="jira-half-configured"),
        pytest.param({"JIRA_BASE_URL": "http://jira.example", "JIRA_EMAIL": "a@b.c", "JIRA_API_TOKEN": "t"}, "JIRA_BASE_URL", id="jira-plain-http"),
        pytest.param({"JIRA_BASE_URL": "https://x", "JIRA_EMAIL": "bot", "JIRA_API_TOKEN": "t"}, "JIRA_EMAIL", id="jira-email-not-email"),
        pytest.param({"FIRST_RESPONSE_TARGET_SECONDS": "600", "LEAD_ESCALATION_SECONDS": "300"}, "LEAD_ESCALATION_SECONDS", id="leads-before-pair"),
        pytest.param({"FIRST_RESPONSE_TARGET_SECONDS": "0"}, "FIRST_RESPONSE_TARGET_SECONDS", id="zero-target"),
        pytest.param({"JOB_GIVE_UP_SECONDS": "30"}, "JOB_GIVE_UP_SECONDS", id="give-up-too-soon"),
        pytest.param({"JOB_GIVE_UP_SECONDS": "6h"}, "JOB_GIVE_UP_SECONDS", id="give-up-not-a-number"),
    ],
)
def test_invalid_request_settings_name_the_variable(extra, variable):
    with pytest.raises(ConfigError) as raised:
        load_settings({**TABLES, "ALLOW_UNAUTHENTICATED": "true", **extra})
    assert raised.value.variable == variable


def test_jira_on_loopback_may_use_http_and_the_token_stays_hidden():
    settings = load_settings({**TABLES, "ALLOW_UNAUTHENTICATED": "true", "JIRA_BASE_URL": "http://127.0.0.1:8080/",
                              "JIRA_EMAIL": "bot@x.example", "JIRA_API_TOKEN": "tok3n"})
    assert settings.jira_base_url == "http://127.0.0.1:8080"
    assert "tok3n" not in repr(settings)
    assert (settings.first_response_target_seconds, settings.lead_escalation_seconds) == (300, 600)


def test_jobs_give_up_after_six_hours_unless_told_otherwise():
    base = {**TABLES, "ALLOW_UNAUTHENTICATED": "true"}
    assert load_settings(base).job_give_up_seconds == 21600
    assert load_settings({**base, "JOB_GIVE_UP_SECONDS": "3600"}).job_give_up_seconds == 3600
