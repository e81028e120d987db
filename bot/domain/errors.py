"""Domain errors: each carries a sentence a person can act on."""


class DomainError(Exception):
    """Base class for errors the bot reports to people instead of crashing."""


class FileProblems(DomainError):
    """A file people wrote has problems; nothing was written. Each problem starts with its line number."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class ConcurrencyError(DomainError):
    """Someone else changed the same record first; reload and try again."""


class AlreadyExists(DomainError):
    """A record with the same key exists already."""


class NotFound(DomainError):
    """The record asked for does not exist."""


class StorageUnavailable(DomainError):
    """Table Storage did not answer; nothing was changed."""


class DeliveryFailed(DomainError):
    """Teams refused a message for good (the app is not installed for the person, the chat is gone).

    `code` is Teams' error code (ConversationNotFound, UserNotFound, ...), or the HTTP status when it sent none.
    """

    def __init__(self, message: str, code: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
