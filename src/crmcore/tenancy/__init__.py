"""Tenancy (TEN-1, SEAT-1..5, TRIAL-1..6, TERM-2, PRO-6, END-4): a tenant's life by replay.

- :mod:`crmcore.tenancy.aggregate`: the tenant aggregate built by ``replay`` from its history
  (TEN-1, TRIAL-2..5, TERM-2, END-4) and its transitions.
- :mod:`crmcore.tenancy.state`: a tenant's commercial state at one moment.
- :mod:`crmcore.tenancy.seats`: the seat rules (SEAT-1..5) as pure checks.
- :mod:`crmcore.tenancy.trials`: when a trial ends, converts, is purged (TRIAL-1..6).

``crmcore.tenancy.X`` is the object of the first of these modules that exports ``X``
(:mod:`crmcore._family`).
"""

from crmcore._family import face

__getattr__, __dir__ = face(__name__, ("aggregate", "state", "seats", "trials"))
