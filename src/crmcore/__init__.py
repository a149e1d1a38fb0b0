"""crmcore: the commercial terms of a CRM / SaaS vendor as exact, tested code.

The core is pure Python: it imports no database code (storage adapters live in
``crmcore_sql``). Start with :mod:`crmcore.presets`, :mod:`crmcore.catalog` and
:mod:`crmcore.money`.
"""

__version__ = "0.1.0"
