# BOXCALL_FUZZ=ON: the libFuzzer targets of tests/fuzz, built with clang++ as an
# external project (the main build keeps its compiler), and one ctest per target
# that fuzzes for a bounded time from its committed seed corpus (label `fuzz`,
# also `unit` so that the usual test runs include it).
find_program(BOXCALL_CLANGXX NAMES clang++ clang++-14 REQUIRED)
include(ExternalProject)
set(BOXCALL_FUZZ_SECONDS 20 CACHE STRING "Seconds each fuzz target runs in ctest")
ExternalProject_Add(fuzz_targets
  SOURCE_DIR ${PROJECT_SOURCE_DIR}/tests/fuzz
  BINARY_DIR ${CMAKE_BINARY_DIR}/fuzz
  CMAKE_ARGS -DCMAKE_CXX_COMPILER=${BOXCALL_CLANGXX} -DCMAKE_BUILD_TYPE=RelWithDebInfo
             -DBOXCALL_SCHEMA_INCLUDE=${CMAKE_BINARY_DIR}/schemas/generated
  DEPENDS boxcall_schema_gen
  BUILD_ALWAYS ON
  INSTALL_COMMAND "")
# target -> its seed directories (the committed corpus, plus seeds made at build time)
set(FUZZ_SEEDS_f1udp_decoder "'${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/f1udp_decoder'")
set(FUZZ_SEEDS_codec "'${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/codec' '${CMAKE_BINARY_DIR}/fuzz/seeds-codec'")
set(FUZZ_SEEDS_livetiming "'${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/livetiming'")
set(FUZZ_SEEDS_recording "'${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/recording'")
# The configuration: the committed seeds and the shipped example (every key at its default).
file(COPY ${PROJECT_SOURCE_DIR}/deploy/boxcall.toml DESTINATION ${CMAKE_BINARY_DIR}/fuzz/seeds-config)
set(FUZZ_SEEDS_config "'${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/config' '${CMAKE_BINARY_DIR}/fuzz/seeds-config'")
foreach(target f1udp_decoder codec livetiming recording config)
  add_test(NAME fuzz_${target}
           COMMAND bash -c "mkdir -p '${CMAKE_BINARY_DIR}/fuzz/new-${target}' && exec '${CMAKE_BINARY_DIR}/fuzz/${target}_fuzz' -max_total_time=${BOXCALL_FUZZ_SECONDS} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 '${CMAKE_BINARY_DIR}/fuzz/new-${target}' ${FUZZ_SEEDS_${target}}")
  set_tests_properties(fuzz_${target} PROPERTIES LABELS "fuzz" TIMEOUT 180)
endforeach()
