/* Put first on the include path of every library but imapbridge (see
 * CMakeLists.txt): libetpan is imapbridge's business alone (ARCHITECTURE
 * §1), so including it anywhere else fails the build. */
#error "libetpan is private to imapbridge/: use the ib_* interfaces"
