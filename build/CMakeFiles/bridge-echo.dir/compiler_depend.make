# Empty compiler generated dependencies file for bridge-echo.
# This may be replaced when dependencies are built.
