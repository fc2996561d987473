/*
 * wav.c — RIFF/WAVE header parsing and writing (see wav.h). Owns no state; reads only the
 * bytes it is given (bounds checked before every read), writes only the 44 bytes asked for.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "dialtone/error.h"
#include "dialtone/wav.h"

#define DT__WAV_PROBE 4096 /* dt_wav_parse_file reads this much */

static uint32_t dt__le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static unsigned dt__le16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

static void dt__put_le32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void dt__put_le16(unsigned char *p, unsigned v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}

int dt_wav_parse(const void *data, size_t len, dt_wav_info_t *out, char *err, size_t errlen) {
  const unsigned char *p = data;
  if (len < 12 || memcmp(p, "RIFF", 4) != 0 || memcmp(p + 8, "WAVE", 4) != 0)
    return dt_seterr(err, errlen, DT_EPARSE, "not a RIFF/WAVE file");
  dt_wav_info_t w = {0};
  size_t off = 12;
  while (off + 8 <= len) {
    uint32_t size = dt__le32(p + off + 4);
    if (memcmp(p + off, "fmt ", 4) == 0) {
      if (len - off - 8 < 16) return dt_seterr(err, errlen, DT_EPARSE, "fmt chunk cut short");
      const unsigned char *f = p + off + 8;
      w.format = dt__le16(f);
      w.channels = dt__le16(f + 2);
      w.rate = dt__le32(f + 4);
      w.byte_rate = dt__le32(f + 8);
      w.block_align = dt__le16(f + 12);
      w.bits = dt__le16(f + 14);
    } else if (memcmp(p + off, "data", 4) == 0) {
      if (w.byte_rate == 0)
        return dt_seterr(err, errlen, DT_EPARSE, w.rate || w.channels ? "byte rate is 0" : "no fmt chunk before data");
      w.data_offset = off + 8;
      w.data_size = size;
      *out = w;
      return 0;
    }
    uint64_t next = (uint64_t)off + 8u + size + (size & 1u); /* chunks are padded to even sizes */
    if (next > len) break;
    off = (size_t)next;
  }
  return dt_seterr(err, errlen, DT_EPARSE, "no data chunk in the first %zu bytes", len);
}

int dt_wav_parse_file(const char *path, dt_wav_info_t *out, uint64_t *file_len, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return dt_seterr(err, errlen, DT_ENOENT, "cannot open %s", path);
  unsigned char h[DT__WAV_PROBE];
  size_t n = fread(h, 1, sizeof h, f);
  struct stat st;
  uint64_t size = fstat(fileno(f), &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
  fclose(f);
  if (file_len) *file_len = size;
  return dt_wav_parse(h, n, out, err, errlen);
}

uint64_t dt_wav_data_len(const dt_wav_info_t *w, uint64_t file_len) {
  if (file_len == 0) return w->data_size;
  uint64_t avail = file_len > w->data_offset ? file_len - w->data_offset : 0;
  return w->data_size < avail ? w->data_size : avail;
}

double dt_wav_seconds(const dt_wav_info_t *w, uint64_t file_len) {
  return w->byte_rate ? (double)dt_wav_data_len(w, file_len) / w->byte_rate : 0;
}

void dt_wav_header_write(unsigned char out[DT_WAV_HEADER_LEN], unsigned channels, uint32_t rate, unsigned bits,
                         uint32_t data_len) {
  unsigned block_align = channels * bits / 8;
  memcpy(out, "RIFF", 4);
  dt__put_le32(out + 4, 36u + data_len);
  memcpy(out + 8, "WAVEfmt ", 8);
  dt__put_le32(out + 16, 16);
  dt__put_le16(out + 20, DT_WAV_FORMAT_PCM);
  dt__put_le16(out + 22, channels);
  dt__put_le32(out + 24, rate);
  dt__put_le32(out + 28, rate * block_align);
  dt__put_le16(out + 32, block_align);
  dt__put_le16(out + 34, bits);
  memcpy(out + 36, "data", 4);
  dt__put_le32(out + 40, data_len);
}
