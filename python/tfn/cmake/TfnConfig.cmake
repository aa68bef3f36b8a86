# find_package(Tfn CONFIG REQUIRED) finds this file through Tfn_DIR, which
# `python -m tfn --cmake-dir` prints: it provides tfn_add_library (see TfnCompile.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/TfnCompile.cmake")
set(Tfn_FOUND TRUE)
