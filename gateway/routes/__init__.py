"""Route groups of the gateway; GatewayService (gateway/service.py) combines them."""
