# CPack pre-build script, after etc-to-root.cmake: the package's modes must not depend on the builder's umask.
# Under umask 002 the staged directories are group-writable, and sigma's own checks then refuse /etc/sigma and
# /var/lib/sigma (root's config and state may be changed by no one else). So every directory is 0755, every
# file 0755 when it is executable (binaries, plugin, templates) and 0644 otherwise; /var/lib/sigma is root's
# 0755 state directory (INSTALL.md).
set(stage ${CPACK_TEMPORARY_DIRECTORY})
execute_process(COMMAND chmod -R u=rwX,go=rX ${stage} RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "normalize-modes.cmake: chmod -R u=rwX,go=rX ${stage} failed (${status})")
endif()
