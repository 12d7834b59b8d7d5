"""The issuer's storage: the engine and its transactions (`engine`), the tables (`models`), their
Alembic migrations (`migrations/`) and the queries (`queries`).

The only part of the issuer that knows which database it runs on: SQL that differs between SQLite
and PostgreSQL is chosen here, so the use cases above read the same on both
(tests/issuer/storage/test_dialect_confined.py keeps it so).
"""
