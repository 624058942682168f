"""netmoe: co-simulation of edge mixture-of-experts generative AI on ns-3."""

__version__ = "0.1.0"
