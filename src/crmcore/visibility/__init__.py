"""Who sees what (VIS-1..8).

- :mod:`crmcore.visibility.language`: the vocabulary: roles, modules, principals, records and
  the rule language with its parser.
- :mod:`crmcore.visibility.policy`: one policy, evaluated in memory (compiled to SQL by
  ``crmcore_sql.visibility``).

``crmcore.visibility.X`` is the object of the first of these modules that exports ``X``
(:mod:`crmcore._family`).
"""

from crmcore._family import face

__getattr__, __dir__ = face(__name__, ("policy", "language"))
