"""The cases contract (marshmallow schemas): none beyond ping yet."""


# The cases service's part of the API document (the RPC contract_schemas): its record-access routes use the
# shared contract the gateway publishes as "access.*"; cases' own schemas join here as they are built.
CONTRACT: dict = {}
