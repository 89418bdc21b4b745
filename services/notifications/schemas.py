"""The notifications contract (marshmallow schemas): none beyond ping yet."""
