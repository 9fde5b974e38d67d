"""The Sage Intacct adapter: XML gateway protocol, typed models and the client."""

from intacct_sync.intacct._writes import create_control_id
from intacct_sync.intacct.client import OUTCOME_COLUMNS, IntacctClient

__all__ = ["OUTCOME_COLUMNS", "IntacctClient", "create_control_id"]
