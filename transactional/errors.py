"""Domain errors. The API maps each class to a problem+json type; messages carry no PHI."""


class DomainError(Exception):
    """Base class; `str(error)` must be safe to show to the caller."""


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class InvalidInput(DomainError):
    pass
