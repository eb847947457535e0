/* cm_b64.h - base64url (RFC 4648 §5, no padding), standard base64 and hex.
 *
 * Pure functions; no allocation except where a function says "malloc'd".
 * Threads: safe from any thread.
 */
#ifndef CM_B64_H
#define CM_B64_H

#include <stddef.h>

/* Length of the base64url text for n input bytes (no padding, no NUL). */
size_t cm_b64url_encoded_len(size_t n);

/* Encode n bytes into dst, which must hold cm_b64url_encoded_len(n) + 1
   bytes; NUL-terminates. Returns the text length. */
size_t cm_b64url_encode(const void *src, size_t n, char *dst);

/* Decode base64url text. Strict: '=', whitespace, characters outside the
   alphabet, impossible lengths (4n+1) and non-zero unused bits in the last
   character are refused, so each byte string has exactly one accepted
   text. An empty text decodes to an empty (non-NULL) buffer. Returns a malloc'd buffer (NUL-terminated, not
   counted) and its length in *len_r, or NULL on bad input / OOM. */
unsigned char *cm_b64url_decode(const char *src, size_t srclen, size_t *len_r);

/* Decode standard base64 (RFC 4648 §4, '+' '/'). Padding is optional, but
   when present it must complete the last 4-character group. Otherwise the
   same strict contract as cm_b64url_decode. */
unsigned char *cm_b64_decode(const char *src, size_t srclen, size_t *len_r);

/* Encode standard base64 with padding. Returns malloc'd NUL-terminated text
   or NULL on OOM. */
char *cm_b64_encode(const void *src, size_t n);

/* Value of one standard base64 symbol ('+' '/'), or -1. */
int cm_b64_digit(char c);

/* Value of one hex digit (either case), or -1. */
int cm_hex_digit(char c);

/* Hex: encode n bytes into dst (2n+1 bytes, lower case, NUL-terminated). */
void cm_hex_encode(const void *src, size_t n, char *dst);

/* Decode hex text of even length (either case); same contract as
   cm_b64url_decode. */
unsigned char *cm_hex_decode(const char *src, size_t srclen, size_t *len_r);

#endif
