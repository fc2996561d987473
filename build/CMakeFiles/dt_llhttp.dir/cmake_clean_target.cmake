file(REMOVE_RECURSE
  "libdt_llhttp.a"
)
