"""HTTP routes of this feature (thin controllers; the rules live in service.py)."""

route_handlers: list = []
