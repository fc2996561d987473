/* main.c — placeholder replaced by the command-line front end. */
#include <stdio.h>
int main(void) { puts("dialtone"); return 0; }
