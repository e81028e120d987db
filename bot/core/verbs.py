"""Every card action verb, shared by the card builders and the handlers that answer them."""

import enum


class Verb(str, enum.Enum):
    """Action.Execute verbs; the value travels in the card and comes back on click."""

    REFRESH_WHO = "who.refresh"
    CLAIM = "request.claim"
    TRIAGE = "request.triage"
    DB_CONFIRM = "request.db_confirm"
    DB_REFUSE = "request.db_refuse"
    SEND_ANSWER = "request.send_answer"
    ASK_TEAM = "request.ask_team"
    HANDBOOK_ADD = "handbook.add"
    ALERT_HANDLE = "alert.handle"
    ALERT_TICKET = "alert.ticket"
    ALERT_DISMISS = "alert.dismiss"
    ALERT_SNOOZE = "alert.snooze"
    PLAN_CONFIRM = "plan.confirm"
    PLAN_ANOTHER = "plan.another"
    PLAN_EDIT = "plan.edit"
    SWAP_ACCEPT = "swap.accept"
    SWAP_DECLINE = "swap.decline"
    MEMBER_EDIT = "member.edit"
    JOB_RETRY = "job.retry"
    JOB_RETRY_ALL = "job.retry_all"
    INCIDENT_SAME_AS = "incident.same_as"
    INCIDENT_SPLIT = "incident.split"
    INCIDENT_SEND_ALL = "incident.send_all"
