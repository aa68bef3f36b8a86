# The CMake support of tfn lives in the package (python/tfn/cmake), so that an installed
# tfn carries it; this file keeps include(TfnCompile) working from a source checkout.
include("${CMAKE_CURRENT_LIST_DIR}/../python/tfn/cmake/TfnCompile.cmake")
