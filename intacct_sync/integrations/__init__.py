"""Integrations with data tools: a dlt source (:mod:`~intacct_sync.integrations.dlt`) and
Dagster resources and assets (:mod:`~intacct_sync.integrations.dagster`).

The top layer beside ``cli``: these modules call the public API (clients, workflows, arrow) and
nothing imports them. Each needs its tool, installed with an extra:
``pip install 'intacct-sync[dlt]'`` or ``'intacct-sync[dagster]'``. Import the submodule you
use; this package imports neither, so importing it needs neither tool.
"""

from __future__ import annotations

__all__: list[str] = []
