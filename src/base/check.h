#pragma once
/// Invariant checks. BOXCALL_CHECK is always on (a broken invariant aborts with
/// its location: continuing would corrupt state); BOXCALL_DCHECK only in debug
/// builds, for checks too expensive for the hot path. Neither is for bad input:
/// bad input is a counted, dead-lettered outcome (see base/result.h).
#include <cstdio>
#include <cstdlib>

#define BOXCALL_CHECK(cond, msg)                                                                             \
  do {                                                                                                       \
    if (!(cond)) [[unlikely]] {                                                                              \
      std::fprintf(stderr, "boxcall: invariant failed at %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond, msg); \
      std::abort();                                                                                          \
    }                                                                                                        \
  } while (false)

#ifdef NDEBUG
#define BOXCALL_DCHECK(cond, msg) \
  do {                            \
  } while (false)
#else
#define BOXCALL_DCHECK(cond, msg) BOXCALL_CHECK(cond, msg)
#endif
