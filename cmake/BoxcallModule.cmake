# One helper declares every project library and executable the same way:
# C++20, the project's warnings (errors when BOXCALL_WERROR is on), and an
# alias boxcall::<name> so that consumers read like imported targets.
function(boxcall_apply_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                         -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
                         -Wimplicit-fallthrough)
  if(BOXCALL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# boxcall_library(<name> SOURCES ... DEPS ...)
function(boxcall_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(boxcall_${name} STATIC ${ARG_SOURCES})
  add_library(boxcall::${name} ALIAS boxcall_${name})
  target_include_directories(boxcall_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(boxcall_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  boxcall_apply_defaults(boxcall_${name})
endfunction()

# boxcall_test(<name> SOURCES ... DEPS ... LABELS ... [TIMEOUT s] [PROPERTIES <ctest properties>])
function(boxcall_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS;PROPERTIES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  boxcall_apply_defaults(${name})
  target_compile_definitions(${name} PRIVATE
    BOXCALL_SHARED_DATA="${BOXCALL_SHARED_DATA}"
    BOXCALL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT} ${ARG_PROPERTIES}
                       DISCOVERY_TIMEOUT 30)
endfunction()
