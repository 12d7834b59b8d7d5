"""The issuer's storage: the engine and its transactions (`engine`), the tables (`models`), their
Alembic migrations (`migrations/`), the queries (`queries`; and by topic `accounts`, `links`,
`jobs`, `allocation`), the audit trail's chain (`audit`) and the exceptions the layers above catch
(`errors`).

The only part of the issuer that writes SQL or imports SQLAlchemy (.importlinter keeps it so):
the modules above call plain functions over a session, name it `issuer.storage.engine.Session`
and catch `issuer.storage.errors`' exceptions. The only part, too, that knows which database it
runs on: SQL that differs between SQLite and PostgreSQL is chosen here, so the use cases above
read the same on both (tests/issuer/storage/test_dialect_confined.py keeps it so).
"""
