/* The sanitizer tree's defaults (BERTH_SANITIZE), linked into every program
 * it builds so that a binary reports the same way whoever starts it: ctest,
 * a test that runs the built berth, or an operator by hand. The environment
 * (ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS) still overrides each one.
 *
 * - leaks are reported when a program exits, and fail it;
 * - detect_stack_use_after_return stays off: the engine clone()s children on
 *   stacks of its own, which the fake-stack mode cannot follow;
 * - any UBSan report is fatal with a stack trace (the build also passes
 *   -fno-sanitize-recover=undefined). */
const char* __asan_default_options(void) {
  return "detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0";
}

const char* __ubsan_default_options(void) {
  return "print_stacktrace=1:halt_on_error=1";
}

/* Leaks that are not berth's, one `leak:PATTERN` per line with the reason in
 * a comment beside it. None so far. */
const char* __lsan_default_suppressions(void) {
  return "";
}
