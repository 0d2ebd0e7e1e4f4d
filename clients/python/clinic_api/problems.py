"""The API's errors are RFC 9457 problems; the helpers raise them as one exception."""

from clinic_api_client.models import Problem


class ProblemError(Exception):
    """The API answered a problem (or nothing it documents) where data was expected."""

    def __init__(self, status: int, problem: Problem | None) -> None:
        detail = f"{problem.code}: {problem.detail or problem.title}" if problem else "no problem"
        super().__init__(f"{status} {detail}")
        self.status = status
        self.problem = problem


def raise_problem(status: int, parsed: object) -> None:
    """Raise what an answer that is not the data asked for says."""
    raise ProblemError(status, parsed if isinstance(parsed, Problem) else None)
