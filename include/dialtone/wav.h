/*
 * wav.h — RIFF/WAVE headers: the one parser (recordings' durations in the recording store,
 * the demo and the console; prompt lengths in the emulator) and the one writer (the
 * emulator's recordings).
 *
 * The parser reads the chunks after "RIFF....WAVE" in order, takes the fields of the last
 * "fmt " chunk before "data" (its first 16 bytes must be in the buffer; the chunk's declared
 * size is not checked against 16) and stops at "data". It reports facts, not policy: the data
 * chunk's size as declared (0 or 0xFFFFFFFF in streamed files) and where the samples start;
 * the data chunk itself need not be in the buffer, so a file's first few KiB are enough.
 * Any format tag is accepted (the caller checks format/bits when it cares).
 */
#ifndef DIALTONE_WAV_H
#define DIALTONE_WAV_H
#include <stddef.h>
#include <stdint.h>

#define DT_WAV_HEADER_LEN 44 /* what dt_wav_header_write writes */
#define DT_WAV_FORMAT_PCM 1

typedef struct {
  unsigned format;      /* wFormatTag: 1 PCM, 3 IEEE float, 6 A-law, 7 mu-law, 0xFFFE extensible */
  unsigned channels;
  uint32_t rate;        /* sample frames per second */
  uint32_t byte_rate;   /* bytes per second; never 0 after a successful parse */
  unsigned block_align; /* bytes per sample frame (may be 0: check it if you divide by it) */
  unsigned bits;        /* bits per sample */
  size_t data_offset;   /* offset of the first sample byte (just past the "data" chunk header) */
  uint32_t data_size;   /* the data chunk's size as declared */
} dt_wav_info_t;

/* Parses the header at the start of data[0..len). Returns 0, or DT_EPARSE with a reason in
   err (when err != NULL): not RIFF/WAVE, fmt chunk cut short, no fmt chunk before data,
   byte rate 0, or no data chunk within len bytes. */
int dt_wav_parse(const void *data, size_t len, dt_wav_info_t *out, char *err, size_t errlen);

/* Reads the first 4096 bytes of path and parses them; *file_len (may be NULL) gets the file's
   size, 0 when fstat fails. DT_ENOENT when the file cannot be opened, else as dt_wav_parse. */
int dt_wav_parse_file(const char *path, dt_wav_info_t *out, uint64_t *file_len, char *err, size_t errlen);

/* Bytes of samples: the declared size, clamped to what file_len leaves after data_offset
   (0 when file_len is shorter than the header); file_len 0 means unknown (the declared size).
   A declared 0 stays 0: a caller that reads 0/0xFFFFFFFF as "streamed, to the end of the
   file" checks data_size itself. */
uint64_t dt_wav_data_len(const dt_wav_info_t *w, uint64_t file_len);

/* dt_wav_data_len(w, file_len) / byte_rate. */
double dt_wav_seconds(const dt_wav_info_t *w, uint64_t file_len);

/* Writes a 44-byte canonical PCM header (RIFF, fmt with 16 bytes, data) for data_len bytes of
   samples: byte_rate = rate * channels * bits / 8, block_align = channels * bits / 8. */
void dt_wav_header_write(unsigned char out[DT_WAV_HEADER_LEN], unsigned channels, uint32_t rate, unsigned bits,
                         uint32_t data_len);

#endif
