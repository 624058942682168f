"""`python -m netmoe ...`: the same command line as `netmoe`, using the packages on sys.path
(handy in a second checkout, where the installed `netmoe` script imports the first)."""

import sys

from netmoe.cli import main

sys.exit(main())
