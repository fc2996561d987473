# Installation and the Debian package (issue 14 point 6; docs/production.md "Install").
#
#   cmake --install build                       # /usr/local: binary, config, flows, unit
#   cmake --install build --prefix /usr         # what the .deb holds (config in /etc)
#   (cd build && cpack -G DEB)                  # dialtone_<version>_<arch>.deb
#
# The config and the demo flows go to /etc/dialtone with the /usr prefix (PREFIX/etc/dialtone
# otherwise), the unit to PREFIX/lib/systemd/system, the docs to the doc dir: the prefix is the
# one given at install time (packaging/install_files.cmake), so `--prefix` works.
include(GNUInstallDirs)

install(TARGETS dialtone RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
install(CODE "set(DT_SOURCE_DIR \"${CMAKE_SOURCE_DIR}\")\nset(DT_BUILD_DIR \"${CMAKE_BINARY_DIR}\")")
install(SCRIPT ${CMAKE_SOURCE_DIR}/packaging/install_files.cmake)

# CPack: a .deb whose dependencies come from the binary (dpkg-shlibdeps), whose /etc files
# are conffiles (an operator's edits survive upgrades), and whose maintainer scripts create
# the dialtone user and start the service where systemd runs.
file(STRINGS ${CMAKE_SOURCE_DIR}/include/dialtone/config.h DT_VERSION_LINE REGEX "#define DIALTONE_VERSION ")
string(REGEX REPLACE ".*\"([^\"]+)\".*" "\\1" DT_VERSION "${DT_VERSION_LINE}")
set(CPACK_PACKAGE_NAME dialtone)
set(CPACK_PACKAGE_VERSION ${DT_VERSION})
set(CPACK_PACKAGE_CONTACT "dialtone maintainers <maintainers@dialtone.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Lua-scriptable IVR engine for Microsoft Graph calls")
set(CPACK_PACKAGE_INSTALL_DIRECTORY dialtone)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, procps") # procps: /bin/kill for ExecReload
# conffiles: the config and the flows as shipped (dpkg keeps an operator's edits on upgrade).
file(GLOB DT_SHIPPED_PROMPTS RELATIVE ${CMAKE_SOURCE_DIR}/flows/prompts ${CMAKE_SOURCE_DIR}/flows/prompts/*.wav
     ${CMAKE_SOURCE_DIR}/flows/prompts/*.txt)
set(DT_CONFFILES "/etc/dialtone/dialtone.conf.lua\n/etc/dialtone/flows/main.lua\n")
foreach(p IN LISTS DT_SHIPPED_PROMPTS)
  string(APPEND DT_CONFFILES "/etc/dialtone/flows/prompts/${p}\n")
endforeach()
file(WRITE ${CMAKE_BINARY_DIR}/packaging/conffiles "${DT_CONFFILES}")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/packaging/conffiles
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
    ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
