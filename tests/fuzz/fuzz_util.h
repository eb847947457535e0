/* fuzz_util.h - shared by the libFuzzer targets (test-only). */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The input after its first byte (the mode byte), as a malloc'd C string
   (cut at the first NUL); NULL when size is 0 or out of memory. */
static inline char *fuzz_text_after_mode(const uint8_t *data, size_t size)
{
    char *text = size > 0 ? malloc(size) : NULL;

    if (text != NULL) {
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
    }
    return text;
}

#endif
