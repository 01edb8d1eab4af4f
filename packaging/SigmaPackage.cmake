# The Debian package, built with `cpack -G DEB` in a build directory (INSTALL.md, section 1):
#   /usr/bin/sigma-*                                        the binaries
#   /usr/lib/<multiarch>/slurm-wlm/spank_sigma.so           the plugin, in Debian Slurm's own plugin directory
#   /etc/sigma/site.yaml                                    site-configs/local.yaml, a conffile (kept on upgrade)
#   /usr/share/sigma/site-configs/, /usr/share/sigma/sbatch-templates/, /usr/share/sigma/examples/
#   /var/lib/sigma                                          the state directory (root, 0755)
# Modes: directories 0755, files 0644 or 0755 whatever the builder's umask (packaging/normalize-modes.cmake).
# prerm (packaging/prerm): `remove` is refused while a plugstack.conf still loads spank_sigma.so.
# Depends: the shared libraries the binaries link (dpkg-shlibdeps) plus the Slurm and Open MPI programs sigma
# runs (srun, sbatch, the PMIx MPI plugin, orted).

# Source installs put the site config under the prefix (/usr/local/etc/sigma); the package moves it to /etc.
install(FILES ${PROJECT_SOURCE_DIR}/site-configs/local.yaml DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/sigma
        RENAME site.yaml)

set(CPACK_PACKAGE_NAME sigma)
set(CPACK_PACKAGE_VENDOR sigma)
set(CPACK_PACKAGE_CONTACT "sigma maintainers <root@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "keeps mixture-of-experts training jobs alive on Slurm clusters")
set(CPACK_PACKAGE_DESCRIPTION "SPANK plugin (preflight burn-in in the job prolog), sigma-launch (restart on
 spare nodes), sigma-healthcheck, the sigma-train MoE trainer and HDF5 sharded checkpoints (sigma-ckpt).")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# python3: validate-nodes.sbatch reads each node's JSON report with it.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "slurm-client (>= 22.05), slurm-wlm-basic-plugins (>= 22.05), openmpi-bin (>= 4.1), python3")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "slurmd (>= 22.05), hdf5-tools")
# python3-torch: only the PyTorch example (torch-train.sbatch's default program) needs it.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3-torch")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/conffiles ${PROJECT_SOURCE_DIR}/packaging/prerm)
# Control files with Debian's modes (scripts 0755, the rest 0644), not those of the source tree.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/packaging/etc-to-root.cmake
    ${PROJECT_SOURCE_DIR}/packaging/normalize-modes.cmake)
include(CPack)
