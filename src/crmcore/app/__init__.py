"""The application layer: use cases over a unit of work, one engine behind every door.

- :mod:`crmcore.app.evaluation`: one tenant's life evaluated (the pure engine);
- :mod:`crmcore.app.commands`: record a change, validated and stored, or refused;
- :mod:`crmcore.app.services`: user accounts (SEAT-4), API calls (API-1), stored files
  (STOR-1, FILE-1), each validated against what is in force, counted atomically, or refused;
- :mod:`crmcore.app.queries`: status, access, next transitions, invoices;
- :mod:`crmcore.app.billing`: issue what the evaluation says is due, stored and numbered.

Plain values and a :class:`~crmcore.ports.UnitOfWork` in, plain values out; no SQL, no presets.
"""
