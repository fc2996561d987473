/* Unit tests for wav.c: the writer's canonical header, the parser's fields and errors, extra
   chunks, truncated buffers, and the data-length policy (declared size clamped to the file). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/wav.h"
#include "harness/dt_test.h"

static void le32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

DT_TEST(header_write_is_canonical_pcm) {
  unsigned char h[DT_WAV_HEADER_LEN];
  dt_wav_header_write(h, 1, 8000, 16, 16000);
  static const unsigned char want[44] = {
      'R', 'I', 'F', 'F', 0xa4, 0x3e, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ',
      16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0,
      2, 0, 16, 0, 'd', 'a', 't', 'a', 0x80, 0x3e, 0, 0};
  DT_ASSERT(memcmp(h, want, sizeof want) == 0);
}

DT_TEST(parse_reads_back_what_write_wrote) {
  unsigned char h[DT_WAV_HEADER_LEN];
  dt_wav_header_write(h, 2, 44100, 16, 1000);
  dt_wav_info_t w;
  DT_ASSERT_EQ_INT(dt_wav_parse(h, sizeof h, &w, NULL, 0), 0);
  DT_ASSERT_EQ_INT(w.format, DT_WAV_FORMAT_PCM);
  DT_ASSERT_EQ_INT(w.channels, 2);
  DT_ASSERT_EQ_INT(w.rate, 44100);
  DT_ASSERT_EQ_INT(w.byte_rate, 44100 * 4);
  DT_ASSERT_EQ_INT(w.block_align, 4);
  DT_ASSERT_EQ_INT(w.bits, 16);
  DT_ASSERT_EQ_INT(w.data_offset, 44);
  DT_ASSERT_EQ_INT(w.data_size, 1000);
}

DT_TEST(parse_skips_other_chunks_with_padding) {
  unsigned char b[128] = {0};
  dt_wav_header_write(b, 1, 8000, 16, 16000); /* then move "data" behind an odd LIST chunk */
  memcpy(b + 36, "LIST", 4);
  le32(b + 40, 3); /* 3 bytes + 1 pad */
  memcpy(b + 48, "data", 4);
  le32(b + 52, 16000);
  dt_wav_info_t w;
  DT_ASSERT_EQ_INT(dt_wav_parse(b, 56, &w, NULL, 0), 0);
  DT_ASSERT_EQ_INT(w.data_offset, 56);
  DT_ASSERT_EQ_INT(w.data_size, 16000);
  /* one second of audio (8 kHz, 16 bits, mono), whole file known */
  DT_ASSERT(dt_wav_seconds(&w, 56 + 16000) > 0.999 && dt_wav_seconds(&w, 56 + 16000) < 1.001);
}

DT_TEST(parse_errors_say_why) {
  char err[80];
  dt_wav_info_t w;
  DT_ASSERT_EQ_INT(dt_wav_parse("RIFF", 4, &w, err, sizeof err), DT_EPARSE);
  DT_ASSERT_CONTAINS(err, "not a RIFF/WAVE");
  DT_ASSERT_EQ_INT(dt_wav_parse("RIFF\0\0\0\0AVI LIST", 16, &w, err, sizeof err), DT_EPARSE);
  DT_ASSERT_CONTAINS(err, "not a RIFF/WAVE");

  unsigned char h[DT_WAV_HEADER_LEN];
  dt_wav_header_write(h, 1, 8000, 16, 0);
  DT_ASSERT_EQ_INT(dt_wav_parse(h, 30, &w, err, sizeof err), DT_EPARSE); /* fmt cut */
  DT_ASSERT_CONTAINS(err, "fmt chunk cut short");
  DT_ASSERT_EQ_INT(dt_wav_parse(h, 40, &w, err, sizeof err), DT_EPARSE); /* data header cut */
  DT_ASSERT_CONTAINS(err, "no data chunk");

  unsigned char z[DT_WAV_HEADER_LEN];
  memcpy(z, h, sizeof z);
  memset(z + 28, 0, 4); /* byte rate 0 */
  DT_ASSERT_EQ_INT(dt_wav_parse(z, sizeof z, &w, err, sizeof err), DT_EPARSE);
  DT_ASSERT_CONTAINS(err, "byte rate is 0");

  unsigned char d[20] = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E', 'd', 'a', 't', 'a', 0, 0, 0, 0};
  DT_ASSERT_EQ_INT(dt_wav_parse(d, sizeof d, &w, err, sizeof err), DT_EPARSE);
  DT_ASSERT_CONTAINS(err, "no fmt chunk before data");

  /* a chunk whose size runs past the buffer ends the walk */
  unsigned char big[64] = {0};
  memcpy(big, "RIFF\0\0\0\0WAVEjunk", 16);
  le32(big + 16, 0xfffffff0u);
  DT_ASSERT_EQ_INT(dt_wav_parse(big, sizeof big, &w, NULL, 0), DT_EPARSE);
}

DT_TEST(data_len_clamps_to_the_file) {
  dt_wav_info_t w = {.byte_rate = 16000, .data_offset = 44, .data_size = 32000};
  DT_ASSERT_EQ_INT(dt_wav_data_len(&w, 0), 32000);        /* size unknown: as declared */
  DT_ASSERT_EQ_INT(dt_wav_data_len(&w, 44 + 32000), 32000);
  DT_ASSERT_EQ_INT(dt_wav_data_len(&w, 44 + 99999), 32000); /* trailing chunks do not count */
  DT_ASSERT_EQ_INT(dt_wav_data_len(&w, 44 + 16000), 16000); /* cut file */
  DT_ASSERT_EQ_INT(dt_wav_data_len(&w, 20), 0);
  w.data_size = 0xffffffffu; /* streamed: clamped like any other size */
  DT_ASSERT_EQ_INT(dt_wav_data_len(&w, 44 + 8000), 8000);
  w.data_size = 0; /* a declared 0 stays 0 */
  DT_ASSERT_EQ_INT(dt_wav_data_len(&w, 44 + 8000), 0);
  w.data_size = 32000;
  DT_ASSERT(dt_wav_seconds(&w, 0) == 2.0);
  dt_wav_info_t none = {0};
  DT_ASSERT(dt_wav_seconds(&none, 100) == 0);
}

DT_TEST(parse_file_reads_the_header_and_the_size) {
  char path[] = "/tmp/dt_test_wav_XXXXXX";
  int fd = mkstemp(path);
  DT_ASSERT(fd >= 0);
  close(fd);
  size_t body = 12000;
  unsigned char *f = calloc(1, DT_WAV_HEADER_LEN + body);
  dt_wav_header_write(f, 1, 8000, 16, (uint32_t)body * 2); /* declares more than is there */
  DT_ASSERT_EQ_INT(dt_write_file_atomic(path, f, DT_WAV_HEADER_LEN + body), 0);
  free(f);
  dt_wav_info_t w;
  uint64_t flen = 0;
  DT_ASSERT_EQ_INT(dt_wav_parse_file(path, &w, &flen, NULL, 0), 0);
  DT_ASSERT_EQ_INT(flen, DT_WAV_HEADER_LEN + body);
  DT_ASSERT(dt_wav_seconds(&w, flen) > 0.7499 && dt_wav_seconds(&w, flen) < 0.7501);
  DT_ASSERT_EQ_INT(dt_write_file_atomic(path, "RIFF", 4), 0);
  char err[80];
  DT_ASSERT_EQ_INT(dt_wav_parse_file(path, &w, &flen, err, sizeof err), DT_EPARSE);
  unlink(path);
  DT_ASSERT_EQ_INT(dt_wav_parse_file(path, &w, &flen, err, sizeof err), DT_ENOENT);
}

DT_TEST_MAIN()
