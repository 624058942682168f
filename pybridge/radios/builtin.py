"""The radios netmoe ships; importing this module registers them."""

from pybridge.radios import lte, wifi

__all__ = ["lte", "wifi"]
