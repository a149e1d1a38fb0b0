"""The public test kit: hypothesis strategies and storage contracts (property-test your code).

- :mod:`crmcore.testing.strategies`: money, dates, periods, plans, catalogues, policies.
- :mod:`crmcore.testing.billing`, :mod:`~crmcore.testing.dunning`,
  :mod:`~crmcore.testing.services`, :mod:`~crmcore.testing.visibility`: one module per family.
- :mod:`crmcore.testing.storage` (``StorageContract``), :mod:`~crmcore.testing.storage_outbox`,
  :mod:`~crmcore.testing.storage_usage`, :mod:`~crmcore.testing.storage_batch`: the contract
  suites for a storage adapter.

``crmcore.testing.X`` is the object of the first of these modules that exports ``X``
(:mod:`crmcore._family`). Only this package (and ``crmcore_sql.testing``) imports hypothesis.
"""

from crmcore._family import face

__getattr__, __dir__ = face(
    __name__,
    (
        "strategies",
        "billing",
        "dunning",
        "services",
        "visibility",
        "storage",
        "storage_outbox",
        "storage_usage",
        "storage_batch",
    ),
)
