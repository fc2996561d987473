file(REMOVE_RECURSE
  "CMakeFiles/dt_llhttp.dir/usr/share/llhttp/api.c.o"
  "CMakeFiles/dt_llhttp.dir/usr/share/llhttp/api.c.o.d"
  "CMakeFiles/dt_llhttp.dir/usr/share/llhttp/http.c.o"
  "CMakeFiles/dt_llhttp.dir/usr/share/llhttp/http.c.o.d"
  "CMakeFiles/dt_llhttp.dir/usr/share/llhttp/llhttp.c.o"
  "CMakeFiles/dt_llhttp.dir/usr/share/llhttp/llhttp.c.o.d"
  "libdt_llhttp.a"
  "libdt_llhttp.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dt_llhttp.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
