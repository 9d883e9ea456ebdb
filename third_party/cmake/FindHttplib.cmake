# Finds cpp-httplib (Debian: libcpp-httplib-dev) and defines the imported target Httplib::Httplib.
# Debian ships it as a compiled library (libcpp-httplib.so) built with OpenSSL, zlib and Brotli
# support; its pkg-config file carries the matching CPPHTTPLIB_* definitions, which every user of
# httplib.h must share with the library. A header-only copy (no pkg-config file) is used as is.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PC_HTTPLIB QUIET cpp-httplib)
endif()
find_path(HTTPLIB_INCLUDE_DIR httplib.h HINTS ${PC_HTTPLIB_INCLUDE_DIRS})
find_library(HTTPLIB_LIBRARY NAMES cpp-httplib HINTS ${PC_HTTPLIB_LIBRARY_DIRS})
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Httplib REQUIRED_VARS HTTPLIB_INCLUDE_DIR VERSION_VAR PC_HTTPLIB_VERSION)
if(Httplib_FOUND AND NOT TARGET Httplib::Httplib)
  add_library(Httplib::Httplib INTERFACE IMPORTED)
  set_target_properties(Httplib::Httplib PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${HTTPLIB_INCLUDE_DIR}")
  if(HTTPLIB_LIBRARY)
    set_property(TARGET Httplib::Httplib PROPERTY INTERFACE_LINK_LIBRARIES "${HTTPLIB_LIBRARY}")
    set_property(TARGET Httplib::Httplib PROPERTY INTERFACE_COMPILE_OPTIONS ${PC_HTTPLIB_CFLAGS_OTHER})
  endif()
endif()
mark_as_advanced(HTTPLIB_INCLUDE_DIR HTTPLIB_LIBRARY)
