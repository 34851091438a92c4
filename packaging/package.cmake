# The Debian package (cpack -G DEB, run by scripts/package.sh): what `cmake
# --install` installs, plus the conffile, the maintainer scripts and the
# Debian documentation files. Its version is the build's one version
# (packaging/version.cmake), read when cpack runs, so the package, the
# binary inside it and its changelog always agree.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME prefixwall)
set(CPACK_PACKAGE_VENDOR "prefixwall developers")
set(CPACK_PACKAGE_CONTACT "${PW_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "IPv4/IPv6 prefix filter in XDP, kept in sync with blocklists")
set(CPACK_PACKAGE_DESCRIPTION
"prefixwall drops packets from (or to) the IPv4 and IPv6 prefixes of
published blocklists in the Linux kernel's XDP hook, with exact
longest-prefix semantics for both families.
.
A command line and a daemon keep the rules in sync with registries
(national blocking registries, Spamhaus DROP, FireHOL sets, BGP feeds
through ExaBGP) in atomic versions, with guards against mass removal,
over-broad prefixes and collateral damage in cloud provider space,
history and rollback, and per-prefix packet counters exported to
Prometheus.")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # prefixwall_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: from the binary's shared libraries (dpkg-shlibdeps), no versions
# written here.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "exabgp, bird2, prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/deb/conffiles
    ${CMAKE_SOURCE_DIR}/packaging/deb/postinst
    ${CMAKE_SOURCE_DIR}/packaging/deb/prerm
    ${CMAKE_SOURCE_DIR}/packaging/deb/postrm)
# The version is set when cpack runs, from the build's version.txt.
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_BINARY_DIR}/cpack_version.cmake)
file(WRITE ${CMAKE_BINARY_DIR}/cpack_version.cmake
"file(STRINGS \"${CMAKE_BINARY_DIR}/version.txt\" CPACK_PACKAGE_VERSION LIMIT_COUNT 1)
set(CPACK_DEBIAN_PACKAGE_VERSION \"\${CPACK_PACKAGE_VERSION}\")
")

# The conffile: every key, commented, nothing enabled. Only the package
# installs it (-DPW_INSTALL_CONFFILE=ON): `cmake --install` from source
# must not overwrite an admin's /etc/prefixwall/prefixwall.conf.
option(PW_INSTALL_CONFFILE "install /etc/prefixwall/prefixwall.conf (the package)" OFF)
if(PW_INSTALL_CONFFILE)
  install(FILES ${CMAKE_SOURCE_DIR}/examples/prefixwall.conf DESTINATION /etc/prefixwall)
endif()
install(FILES ${CMAKE_SOURCE_DIR}/packaging/deb/copyright ${CMAKE_BINARY_DIR}/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

include(CPack)
