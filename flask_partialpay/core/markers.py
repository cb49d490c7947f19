"""``N_``: marks a message for the translation extractor where it cannot be translated yet.

Messages defined at import time (error templates, module constants) are marked with it and
translated where they are shown, in the reader's language.
"""

from __future__ import annotations


def N_(message: str) -> str:
    return message
