# Runs at install time (cmake --install, cpack): the files whose place depends on the prefix
# chosen then, not at configure time. With the /usr prefix (the .deb) the configuration goes
# to /etc, as Debian's GNUInstallDirs rule says; with any other prefix P to P/etc. The unit
# is written with the binary's and the config's installed paths.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(DT_SYSCONFDIR "/etc")
else()
  set(DT_SYSCONFDIR "${CMAKE_INSTALL_PREFIX}/etc")
endif()
set(DT_BINDIR "${CMAKE_INSTALL_PREFIX}/bin")
set(DT_DOCDIR "${CMAKE_INSTALL_PREFIX}/share/doc/dialtone")
configure_file("${DT_SOURCE_DIR}/packaging/dialtone.service.in" "${DT_BUILD_DIR}/dialtone.service" @ONLY)
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE FILES "${DT_BUILD_DIR}/dialtone.service")
file(INSTALL DESTINATION "${DT_SYSCONFDIR}/dialtone" TYPE FILE FILES "${DT_SOURCE_DIR}/packaging/dialtone.conf.lua")
file(INSTALL DESTINATION "${DT_SYSCONFDIR}/dialtone/flows" TYPE FILE FILES "${DT_SOURCE_DIR}/flows/main.lua")
file(INSTALL DESTINATION "${DT_SYSCONFDIR}/dialtone/flows" TYPE DIRECTORY FILES "${DT_SOURCE_DIR}/flows/prompts"
     FILES_MATCHING PATTERN "*.wav" PATTERN "*.txt")
