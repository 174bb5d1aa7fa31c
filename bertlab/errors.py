"""Errors that bertlab reports to a person rather than as a traceback.

`BadInput` is anything the user can fix (a bad file, an unknown model, a bad flag): the CLI prints
its message on one line and exits with code 2, the page shows it and keeps serving.
"""


class BadInput(Exception):
    """A problem with what the user gave us; the message says what is wrong and where."""

    exit_code = 2


class DataError(BadInput):
    """A data file cannot be used. The message names the file and, where known, row and column."""

    def __init__(self, message: str, *, path: str | None = None, row: int | None = None,
                 column: str | None = None):
        where = []
        if path:
            where.append(f"file {path}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.path, self.row, self.column = path, row, column


class ModelNotFound(BadInput):
    """A model name that is neither a default, a local folder, nor reachable on the hub."""
