# CPack pre-build script: everything is staged under /usr (CPACK_PACKAGING_INSTALL_PREFIX); the site config
# belongs in /etc/sigma (a conffile, listed in packaging/conffiles), and the state directory in /var/lib/sigma.
set(stage ${CPACK_TEMPORARY_DIRECTORY})
if(NOT EXISTS ${stage}/usr/etc/sigma/site.yaml)
  message(FATAL_ERROR "etc-to-root.cmake: ${stage}/usr/etc/sigma/site.yaml not staged")
endif()
file(MAKE_DIRECTORY ${stage}/etc ${stage}/var/lib/sigma)
file(RENAME ${stage}/usr/etc/sigma ${stage}/etc/sigma)
file(REMOVE_RECURSE ${stage}/usr/etc)
