
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/core/common.c" "CMakeFiles/dialtone_core.dir/core/common.c.o" "gcc" "CMakeFiles/dialtone_core.dir/core/common.c.o.d"
  "/work/main/core/embedded.c" "CMakeFiles/dialtone_core.dir/core/embedded.c.o" "gcc" "CMakeFiles/dialtone_core.dir/core/embedded.c.o.d"
  "/work/main/core/error.c" "CMakeFiles/dialtone_core.dir/core/error.c.o" "gcc" "CMakeFiles/dialtone_core.dir/core/error.c.o.d"
  "/work/main/core/log.c" "CMakeFiles/dialtone_core.dir/core/log.c.o" "gcc" "CMakeFiles/dialtone_core.dir/core/log.c.o.d"
  "/work/main/build/dt_embedded.c" "CMakeFiles/dialtone_core.dir/dt_embedded.c.o" "gcc" "CMakeFiles/dialtone_core.dir/dt_embedded.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/CMakeFiles/dt_llhttp.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
