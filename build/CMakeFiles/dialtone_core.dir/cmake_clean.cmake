file(REMOVE_RECURSE
  "CMakeFiles/dialtone_core.dir/core/common.c.o"
  "CMakeFiles/dialtone_core.dir/core/common.c.o.d"
  "CMakeFiles/dialtone_core.dir/core/embedded.c.o"
  "CMakeFiles/dialtone_core.dir/core/embedded.c.o.d"
  "CMakeFiles/dialtone_core.dir/core/error.c.o"
  "CMakeFiles/dialtone_core.dir/core/error.c.o.d"
  "CMakeFiles/dialtone_core.dir/core/log.c.o"
  "CMakeFiles/dialtone_core.dir/core/log.c.o.d"
  "CMakeFiles/dialtone_core.dir/dt_embedded.c.o"
  "CMakeFiles/dialtone_core.dir/dt_embedded.c.o.d"
  "dt_embedded.c"
  "libdialtone_core.a"
  "libdialtone_core.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dialtone_core.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
