# Empty compiler generated dependencies file for dialtone.
# This may be replaced when dependencies are built.
