# `cmake --install` and the CPack .deb: the binary, and what it finds next to itself in
# <prefix>/share/boxcall (the shipped models, the pit-wall page; src/app/paths.h), the
# example configuration, the OpenAPI description and the systemd unit.
include(GNUInstallDirs)
install(TARGETS boxcall RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/models/ DESTINATION ${CMAKE_INSTALL_DATADIR}/boxcall/models)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/boxcall/web)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/boxcall.toml DESTINATION ${CMAKE_INSTALL_DATADIR}/boxcall/examples)
install(FILES ${PROJECT_SOURCE_DIR}/docs/openapi.yaml ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
# <prefix>/lib/systemd/system: /usr/lib/systemd/system for the .deb (merged /usr on Debian 12).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/boxcall.service DESTINATION lib/systemd/system)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME boxcall)
set(CPACK_PACKAGE_VENDOR "boxcall")
set(CPACK_PACKAGE_CONTACT "boxcall maintainers <boxcall@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Streaming telemetry processor for motorsport race strategy")
set(CPACK_PACKAGE_DESCRIPTION
    "boxcall consumes car telemetry and timing from Kafka and publishes live features, strategy predictions and alerts; it serves a live pit-wall page, a query API and Prometheus metrics on one HTTP port.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # runtime libraries from dpkg-shlibdeps (librdkafka1, libxgboost0 ...)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "kcat, curl")
include(CPack)
