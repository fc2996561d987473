# Empty dependencies file for dialtone_core.
# This may be replaced when dependencies are built.
