# SPDX-License-Identifier: Apache-2.0
"""The exception tree: every error a user can cause is a HomerecError with a clear message."""


class HomerecError(Exception):
    """Base of every error homerec raises on purpose; the CLI prints its message, no traceback."""


class UnknownUser(HomerecError, KeyError):
    """A user id that is not in the data or the model."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown user"


class UnknownAccount(UnknownUser):
    """A bill-to account id that no user carries (users' `ACCOUNT_ID`)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown account"


class UnknownItem(HomerecError, KeyError):
    """An item id that is not in the data or the model."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown item"


class NotFitted(HomerecError):
    """A model was used before fit() or load()."""


class StoreError(HomerecError):
    """The store could not be opened, read or written."""


class InputError(HomerecError):
    """Input data that cannot be read at all (missing file, missing columns, empty file)."""


class ConfigError(HomerecError):
    """A bad setting: unknown model name, bad parameter, unknown store URL scheme."""
