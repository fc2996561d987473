file(REMOVE_RECURSE
  "CMakeFiles/dialtone.dir/src/main.c.o"
  "CMakeFiles/dialtone.dir/src/main.c.o.d"
  "dialtone"
  "dialtone.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dialtone.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
