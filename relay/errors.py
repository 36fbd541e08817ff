"""Domain errors: what services, selectors, storage and workers raise.

Plain exceptions with no HTTP in them; `relay.api.exceptions` maps each to its status
code and the error envelope in one place (Malformed 400, Forbidden 403, NotFound 404, Conflict 409,
InvalidInput 422, TooLarge 413, Unavailable 503). Code below the API layer raises only these.
"""


class DomainError(Exception):
    default_message = "The request could not be carried out"

    def __init__(self, message=None):
        self.message = message or self.default_message
        super().__init__(self.message)


class NotFound(DomainError):
    default_message = "Not found"


class Forbidden(DomainError):
    """The caller may not do this, whatever the state (e.g. grant a scope it lacks)."""

    default_message = "Not allowed"


class Conflict(DomainError):
    """The object's state does not allow this change (editing a published set, ...)."""

    default_message = "The request conflicts with the current state of the resource"


class Unavailable(DomainError):
    """A service Relay depends on (database, broker, storage) does not answer."""

    default_message = "A service Relay depends on is unavailable; try again shortly"


class Malformed(DomainError):
    """The input cannot be read at all (not JSON, not the format it claims to be)."""

    default_message = "Malformed request body"


class TooLarge(DomainError):
    default_message = "Request body too large"


def problem(loc, msg, type_):
    """One validation problem: `loc` walks from `body`, `query`, `path` or `header` into the input."""
    return {"loc": list(loc), "msg": msg, "type": type_}


class InvalidInput(DomainError):
    """One or more problems with the input, each located by `loc` (see `problem`)."""

    def __init__(self, problems):
        self.problems = [dict(p) for p in problems]
        super().__init__("; ".join(p["msg"] for p in self.problems))

    @classmethod
    def at(cls, loc, msg, type_="value_error"):
        return cls([problem(loc, msg, type_)])
