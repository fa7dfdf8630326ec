# Writes the schema text as a C++ raw string literal (used by the JSON codec).
file(READ ${IN} TEXT)
file(WRITE ${OUT} "#pragma once\n// Generated from boxcall.fbs at build time.\nnamespace boxcall::schema {\ninline constexpr const char* kSchemaText = R\"BXCFBS(${TEXT})BXCFBS\";\n}\n")
