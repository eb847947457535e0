/* ib_text.h - text decoding for JMAP: charsets, transfer encodings, RFC 2047
 * encoded words, UTF-8 repair and truncation, and the Email `preview`.
 *
 * Every string this module returns is valid UTF-8 (strict: no overlongs, no
 * surrogates, nothing above U+10FFFF), so json_stringn() never fails on it.
 * Output may contain NUL bytes where the input did (bodies); use the
 * returned length, not strlen().
 *
 * Ownership: every `char **out` receives a new malloc'd, NUL-terminated
 * string that the caller free()s; on error *out is NULL.
 * Threads: pure functions, no shared state; safe from any thread
 * (charconv() uses iconv, which is reentrant per call).
 */
#ifndef IB_TEXT_H
#define IB_TEXT_H

#include "common/cm_err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Hard cap on any decoded output, in bytes (CM_ELIMIT beyond it). */
#define IB_TEXT_MAX_BYTES ((size_t)64 * 1024 * 1024)

/* Is s[0..len) strictly valid UTF-8? */
bool ib_text_utf8_valid(const char *s, size_t len);

/* Copy s[0..len) replacing each invalid UTF-8 sequence (maximal subpart) by
   U+FFFD. *out_len (may be NULL) gets the output length. *changed (may be
   NULL) is set to whether anything was replaced. 0 / CM_ENOMEM / CM_ELIMIT. */
int ib_text_sanitize(const char *s, size_t len, char **out, size_t *out_len, bool *changed,
                     struct cm_err *err) __attribute__((warn_unused_result));

/* Largest n <= max such that s[0..n) does not split a UTF-8 character
   (s is assumed valid UTF-8). Returns len when len <= max. */
size_t ib_text_utf8_cut(const char *s, size_t len, size_t max);

/* Convert bytes in `charset` (NULL or "" means us-ascii) to UTF-8.
   utf-8/us-ascii: invalid bytes become U+FFFD (problem). Known charsets go
   through libetpan charconv(); bytes it cannot map come out as '?' (problem
   when detectable: ASCII-compatible charsets). Unknown charset or a failed
   conversion: keep
   the bytes if they are valid UTF-8, else decode as Windows-1252 (problem
   set either way). *problem (required) is only ever set to true, never
   cleared, so one flag can collect several steps. */
int ib_text_charset_decode(const char *charset, const char *in, size_t len, char **out,
                           size_t *out_len, bool *problem, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Undo a Content-Transfer-Encoding: "base64" (ignores line breaks and other
   non-alphabet bytes; stops at '='), "quoted-printable" (soft line breaks;
   malformed "=" sequences are kept literally), "7bit"/"8bit"/"binary"/NULL
   (copy). Output is bytes, not yet UTF-8. An unknown encoding copies the
   bytes and sets *problem. The name is case-insensitive. */
int ib_text_cte_decode(const char *cte, const char *in, size_t len, char **out, size_t *out_len,
                       bool *problem, struct cm_err *err) __attribute__((warn_unused_result));

/* Decoded size estimate for `size` encoded bytes under `cte`
   (base64: 3/4 of the non-line-break bytes; others: size). */
size_t ib_text_cte_decoded_size(const char *cte, size_t size);

/* Decode an unstructured header value (RFC 8621 asText): unfold (CRLF/LF
   followed by whitespace is removed), drop the final line break, strip
   leading whitespace (trailing whitespace is kept, as RFC 8621 says), decode RFC 2047 encoded words
   (B and Q) of known charsets, drop whitespace between adjacent encoded words, drop control
   characters and NULs produced by encoded words. Raw 8-bit text is kept when valid UTF-8, else read
   as Windows-1252. Encoded words with an unknown charset or bad syntax are left as they are (RFC
   8621 4.1.2.2). Raw NUL bytes are dropped, so the result is a plain C string. The result
   is in Unicode NFC (RFC 8621 4.1.2.2). */
int ib_text_header_decode(const char *in, size_t len, char **out, struct cm_err *err)
    __attribute__((warn_unused_result));

/* As ib_text_header_decode(), but encoded words are decoded wherever they
   stand ("=?utf-8?q?r=C3=A9sum=C3=A9?=.pdf"): MIME parameter values as
   mailers really write them (RFC 2047 5 forbids it; everyone does it). */
int ib_text_param_decode(const char *in, size_t len, char **out, struct cm_err *err)
    __attribute__((warn_unused_result));

/* RFC 8621 `preview` from decoded UTF-8 body text: for HTML, drop tags,
   comments and <script>/<style>/<head> content and decode common entities;
   then collapse whitespace runs to one space, trim, and keep at most 256
   characters (code points). */
int ib_text_preview(const char *utf8, size_t len, bool html, char **out, struct cm_err *err)
    __attribute__((warn_unused_result));

/* A JSON string from any bytes: invalid UTF-8 is replaced by U+FFFD first
   (s == NULL gives ""). Returns a new reference; NULL only when out of
   memory. */
json_t *ib_text_json(const char *s, size_t len);

#endif
