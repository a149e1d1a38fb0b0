"""Payment delay (PAY-1..6): what a tenant owes and the access it keeps.

- :mod:`crmcore.dunning.allocation`: PAY-1, payments applied to invoices oldest first (the one
  allocation rule; billing and dunning both use it).
- :mod:`crmcore.dunning.status`: PAY-2..6, the status by day, its log and next transition.

``crmcore.dunning.X`` is the object of the first of these modules that exports ``X``
(:mod:`crmcore._family`).
"""

from crmcore._family import face

__getattr__, __dir__ = face(__name__, ("status", "allocation"))
