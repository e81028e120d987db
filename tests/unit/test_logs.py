"""JSON logs carry the ids bound for the work in progress."""

import json
import logging

from bot.logs import JsonFormatter, bound


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("bot.test", logging.INFO, __file__, 1, message, None, None)


def test_bound_ids_appear_and_disappear():
    formatter = JsonFormatter()
    with bound(request_id="r1", activity_id="a1"):
        with bound(job_id="j1", empty=None):
            inner = json.loads(formatter.format(record("inside")))
        outer = json.loads(formatter.format(record("outside job")))
    after = json.loads(formatter.format(record("after")))
    assert inner["request_id"] == "r1" and inner["activity_id"] == "a1" and inner["job_id"] == "j1"
    assert "empty" not in inner
    assert "job_id" not in outer and outer["request_id"] == "r1"
    assert "request_id" not in after and after["message"] == "after"
