"""crmcore_sql: SQLAlchemy 2.0 storage adapters for crmcore (SQLite, PostgreSQL, MariaDB/MySQL).

Install with the ``sql`` extra: ``pip install 'crmcore[sql]'``.
"""
