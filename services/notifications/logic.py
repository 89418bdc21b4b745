"""Notifications domain logic: plain functions over a unit of work, no nameko here."""
