"""The cases contract (marshmallow schemas): none beyond ping yet."""
