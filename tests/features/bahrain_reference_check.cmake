# ctest driver: `boxcall features` over the whole 2023 Bahrain race, the
# independent plain-Python reference over the same files, then the comparison.
# Inputs: BOXCALL, PYTHON, DATA (the export directory), SCRIPTS, WORK.
if(NOT EXISTS "${DATA}/laps.csv")
  message("SKIPPED: no shared data at ${DATA}")
  return()
endif()
file(MAKE_DIRECTORY "${WORK}")
set(args --car-data "${DATA}/car_data" --laps "${DATA}/laps.csv" --track-status "${DATA}/track_status.csv")

execute_process(COMMAND "${BOXCALL}" features ${args} --out "${WORK}/boxcall.csv" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "boxcall features failed (${rc})")
endif()
execute_process(COMMAND "${PYTHON}" "${SCRIPTS}/reference_features.py" ${args} --out "${WORK}/reference.csv"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "reference_features.py failed (${rc})")
endif()
execute_process(COMMAND "${PYTHON}" "${SCRIPTS}/compare_features.py" "${WORK}/boxcall.csv" "${WORK}/reference.csv"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "boxcall features differs from the Python reference (see above)")
endif()
