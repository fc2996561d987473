CMakeFiles/dialtone_core.dir/dt_embedded.c.o: \
 /work/main/build/dt_embedded.c /usr/include/stdc-predef.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \
 /work/main/include/dialtone/embedded.h
