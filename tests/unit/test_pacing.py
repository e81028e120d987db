"""The per-conversation pacer keeps Teams' limits with an injected clock."""

from bot.web.pacing import ConversationPacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_eighth_send_within_a_second_waits():
    clock = FakeClock()
    pacer = ConversationPacer(clock=clock)
    for _ in range(7):
        assert pacer.wait_needed("c") == 0
        pacer._sent["c"].append(clock.now)
    assert 0.99 <= pacer.wait_needed("c") <= 1.0
    assert pacer.wait_needed("other") == 0


def test_threads_share_their_channel_budget():
    clock = FakeClock()
    pacer = ConversationPacer(clock=clock)
    for i in range(7):
        pacer._sent[f"19:c@thread.tacv2"].append(clock.now)
    assert pacer.wait_needed("19:c@thread.tacv2") > 0


def test_sixty_per_thirty_seconds():
    clock = FakeClock()
    pacer = ConversationPacer(clock=clock)
    for i in range(60):
        pacer._sent["c"].append(clock.now + i * 0.4)
    clock.now += 60 * 0.4
    assert pacer.wait_needed("c") > 5
