file(REMOVE_RECURSE
  "libdialtone_core.a"
)
