/* Must NOT compile with realtime/'s include path (tests/CMakeLists.txt):
 * libetpan is private to imapbridge/. */
#include <libetpan/libetpan.h>

int includes_libetpan(void)
{
    return 0;
}
