"""The unit tier's Flask-SQLAlchemy object, registered on each test's bare app.

A module of its own so that test helpers outside the fixtures can reach ``db.session`` the
way a host's code does; Flask-SQLAlchemy keeps one engine per app, so every test still gets
its own database connection.
"""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
