/* th.h - a tiny assert harness for unit tests (redis testhelp.h size).
 *
 *   static void test_x(void) { th_assert(1 + 1 == 2); th_assert_idx(ok, i); }
 *   int main(void) { th_run("x", test_x); return th_end(); }
 *
 * A failed assertion prints file:line and counts as a failure; the test
 * function keeps going. th_end() prints "N passed, N failed" and returns
 * the exit code.
 */
#ifndef TH_H
#define TH_H

#include <stdbool.h>

void th_check(bool ok, const char *expr, const char *file, int line, int idx);
void th_run(const char *name, void (*fn)(void));
int th_end(void);

#define th_assert(cond) th_check((cond), #cond, __FILE__, __LINE__, -1)
#define th_assert_idx(cond, i) th_check((cond), #cond, __FILE__, __LINE__, (int)(i))

#endif
