"""Radios: what differs between a Wi-Fi scenario and an LTE one, behind one interface.

A radio owns (1) its sections of the scenario config (``scenario.wifi``,
``scenario.lte``, ...), (2) the command-line flags those sections become for its
scenario programs, each tagged with the config field it comes from (so the program's
one-line complaint about a flag can name the field), and (3) its closed-form link for
the Shannon backend. Nothing outside this package branches on the radio.

Adding a radio: write ``pybridge/radios/<name>.py`` with a :class:`Radio` and call
:func:`register` in it, add its import at the bottom of this file, and build its
scenario program (ns3_scenarios/). See docs/architecture.md.
"""
