# Installing nnvae for C++ users: the headers, the static libraries and a CMake
# package, so that
#
#   find_package(nnvae CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE nnvae::nnvae)   # or nnvae::vae, nnvae::nbla_compat
#
# builds a program. `cmake --install build --prefix P` lays it out as
# P/include/nnvae (engine, kernels and vae headers; the NNabla-compatible ones
# in P/include/nnvae/compat), P/lib and P/lib/cmake/nnvae. The wheel carries
# the same tree under nnvae/ in site-packages, the folder
# nnvae.cmake_prefix_path names. The same names work inside this build
# (nnvae::nnvae, nnvae::vae, nnvae::nbla_compat) for add_subdirectory users.
include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

if(DEFINED SKBUILD)
  set(_nnvae_prefix nnvae/)  # relative to the wheel's root (site-packages)
  set(_nnvae_libdir nnvae/lib)
else()
  set(_nnvae_prefix "")
  set(_nnvae_libdir ${CMAKE_INSTALL_LIBDIR})
endif()
set(_nnvae_includedir ${_nnvae_prefix}include)
set(_nnvae_cmakedir ${_nnvae_libdir}/cmake/nnvae)

# The package's version is the Python project's (pyproject.toml owns it).
file(STRINGS ${PROJECT_SOURCE_DIR}/pyproject.toml _nnvae_version_line REGEX "^version = \"[0-9.]+\"")
string(REGEX REPLACE "^version = \"([0-9.]+)\"" "\\1" NNVAE_PACKAGE_VERSION "${_nnvae_version_line}")

add_library(nnvae::nnvae ALIAS nnvae_engine)
add_library(nnvae::vae ALIAS nnvae_vae)
set_target_properties(nnvae_engine PROPERTIES EXPORT_NAME nnvae)
set_target_properties(nnvae_vae PROPERTIES EXPORT_NAME vae)
set_target_properties(nnvae_options PROPERTIES EXPORT_NAME options)
target_include_directories(nnvae_engine INTERFACE $<INSTALL_INTERFACE:${_nnvae_includedir}>)
target_include_directories(nnvae_nbla_compat INTERFACE $<INSTALL_INTERFACE:${_nnvae_includedir}/nnvae/compat>)

install(TARGETS nnvae_options nnvae_engine nnvae_vae nnvae_nbla_compat EXPORT nnvaeTargets
        ARCHIVE DESTINATION ${_nnvae_libdir} LIBRARY DESTINATION ${_nnvae_libdir})
# The engine's headers and the application's (cpp/vae/include) into the same
# include/nnvae, so that <nnvae/vae.hpp> and <nnvae/vae/...> read as before.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/cpp/include/nnvae ${PROJECT_SOURCE_DIR}/cpp/vae/include/nnvae
        DESTINATION ${_nnvae_includedir} FILES_MATCHING PATTERN "*.hpp" PATTERN "*.def")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/cpp/compat/nbla ${PROJECT_SOURCE_DIR}/cpp/compat/nbla_utils
        DESTINATION ${_nnvae_includedir}/nnvae/compat)
install(EXPORT nnvaeTargets NAMESPACE nnvae:: DESTINATION ${_nnvae_cmakedir})

# What the package must find again for its targets' usage requirements.
set(NNVAE_PACKAGE_NEEDS_OPENMP FALSE)
if(TARGET OpenMP::OpenMP_CXX)
  set(NNVAE_PACKAGE_NEEDS_OPENMP TRUE)
endif()
set(NNVAE_PACKAGE_NEEDS_ZLIB FALSE)
if(TARGET ZLIB::ZLIB)
  set(NNVAE_PACKAGE_NEEDS_ZLIB TRUE)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/nnvaeConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/nnvaeConfig.cmake INSTALL_DESTINATION ${_nnvae_cmakedir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/nnvaeConfigVersion.cmake
                                 VERSION ${NNVAE_PACKAGE_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/nnvaeConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/nnvaeConfigVersion.cmake
        DESTINATION ${_nnvae_cmakedir})
