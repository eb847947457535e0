/* Must NOT compile with the include path of realtime/, gateway/ or
 * jmapgate (tests/CMakeLists.txt): libetpan is private to imapbridge/. */
#include <libetpan/libetpan.h>

int includes_libetpan(void)
{
    return 0;
}
