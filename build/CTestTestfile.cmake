# CMake generated Testfile for 
# Source directory: /work/main
# Build directory: /work/main/build
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test(unit/test_common "/work/main/build/test_common")
set_tests_properties(unit/test_common PROPERTIES  ENVIRONMENT "DT_SOURCE_DIR=/work/main;DT_BINARY=/work/main/build/dialtone;DT_BUILD_DIR=/work/main/build" LABELS "unit" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;70;add_test;/work/main/CMakeLists.txt;0;")
