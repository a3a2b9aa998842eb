"""Errors a user can act on. Their message says what failed and what to do; the command line
prints it as one line, with no traceback unless ``--verbose`` is given.

Example:
    >>> raise WeightsUnavailableError("could not download ImageNet weights: use --weights none")
    Traceback (most recent call last):
    ...
    colorizer.errors.WeightsUnavailableError: could not download ImageNet weights: use --weights none
"""
from __future__ import annotations


class ColorizerError(Exception):
    """Base of the errors whose message is meant for the user, complete in one line."""


class WeightsUnavailableError(ColorizerError):
    """Pretrained weights could not be had: offline, behind a firewall, or an unreadable file."""
