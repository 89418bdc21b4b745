"""The permissions contract (marshmallow schemas): none beyond ping yet."""
