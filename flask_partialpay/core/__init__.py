"""The bottom layer: money, the status and kind vocabulary, host ids and the error hierarchy.

Nothing here imports Flask or SQLAlchemy (``make lint`` checks it), so importing
``flask_partialpay.core.money`` loads neither. Every layer above may import it.
"""
