"""A service whose dependency comes from the lock."""

import alpha


def value():
    return alpha.VALUE
