# Empty dependencies file for dt_llhttp.
# This may be replaced when dependencies are built.
