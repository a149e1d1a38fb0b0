"""The scenario runner (SCENARIOS.md), a door over :mod:`crmcore.app` on memory storage.

- :mod:`crmcore.scenario.input`: the scenario document validated field by field (JSON paths).
- :mod:`crmcore.scenario.runner`: ``run``: replay one tenant's life, report what crmcore does.

``crmcore.scenario.X`` is the object of the first of these modules that exports ``X``
(:mod:`crmcore._family`).
"""

from crmcore._family import face

__getattr__, __dir__ = face(__name__, ("runner", "input"))
