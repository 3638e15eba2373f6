"""Report fixtures: the SLA tests' desk (Acme: Alice admin, Bob agent, Ada of Billing), the
blueprint maker, the controllable clock (`now`) and `sla` (state SLAs, 9-18 business hours)."""

from tests.blueprints.conftest import Maker, enterprise, make  # noqa: F401  (fixtures)
from tests.sla.conftest import Sla, now, sla  # noqa: F401  (fixtures)
from tests.tickets.conftest import Desk, desk  # noqa: F401  (fixtures)
