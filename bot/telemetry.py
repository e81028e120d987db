"""OpenTelemetry to Application Insights, only when its connection string is set."""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator

from opentelemetry import trace

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("support-rotation-bot")


def setup(connection_string: str) -> bool:
    """Send traces and the bot's logs to Application Insights; True when switched on."""
    if not connection_string:
        return False
    from azure.monitor.opentelemetry import configure_azure_monitor

    # Live metrics would open a second, long-lived connection; traces and logs are what we need. The
    # distro's default rate-limited sampler can drop the first spans; this bot's volume is small, keep all.
    configure_azure_monitor(connection_string=connection_string, logger_name="bot", enable_live_metrics=False,
                            sampling_ratio=1.0)
    log.info("OpenTelemetry export to Application Insights is on")
    return True


@contextlib.contextmanager
def span(name: str, **attributes: str) -> Iterator[None]:
    """A span around a unit of work; without setup() it is a no-op."""
    with _tracer.start_as_current_span(name, attributes={k: v for k, v in attributes.items() if v}):
        yield
