/*
 * say_words.h — numbers, digits, dates, times and amounts of money as words, in English
 * ("en") and Spanish ("es"), for speaking them: as text for text to speech, and as the
 * names of the prompts of a recorded prompt set (one prompt per word). Pure: no I/O, no
 * allocation but the caller's list.
 *
 * Every word has a key: the word itself in lowercase ASCII (accents folded: "dieciséis" ->
 * "dieciseis", "millón" -> "millon"), used as the prompt name "say_KEY" (digits, "*" and "#"
 * use the names "digit_0".."digit_9", "star", "pound", as the demo's prompts do).
 */
#ifndef DIALTONE_SAY_WORDS_H
#define DIALTONE_SAY_WORDS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DT_SAY_MAX_WORDS 96
#define DT_SAY_NUMBER_MAX 999999999LL
#define DT_SAY_MAX_DIGITS 64

typedef struct {
  const char *word;   /* as spoken (UTF-8, static) */
  const char *key;    /* prompt name (static) */
  bool hyphen;        /* English: joined to the word before with '-' ("twenty-one") */
} dt_say_word_t;

typedef struct {
  dt_say_word_t w[DT_SAY_MAX_WORDS];
  size_t n;
  bool overflow;
} dt_say_list_t;

/* Whether lang is one the helpers speak ("en", "es"; "en-us", "es-mx" etc. count as theirs). */
bool dt_say_lang_ok(const char *lang);

/* Each returns 0, or DT_EINVAL (out of range, unknown language or currency). */
int dt_say_number(dt_say_list_t *out, const char *lang, long long n);       /* 0..999,999,999 (negative: "minus") */
int dt_say_digits(dt_say_list_t *out, const char *lang, const char *digits); /* 0-9 * #, 1..64 of them */
/* Calendar date: weekday 0..6 (Sunday 0) or -1 to leave it out, month 1..12, day 1..31,
   year 1..9999. */
int dt_say_date(dt_say_list_t *out, const char *lang, int year, int month, int day, int weekday);
/* Time of day: hour 0..23, minute 0..59 (12-hour clock with a.m./p.m., "de la tarde"). */
int dt_say_time(dt_say_list_t *out, const char *lang, int hour, int minute);
/* Money: amount >= 0 (rounded to cents, < 1e9), currency "USD", "EUR", "GBP", "MXN". */
int dt_say_money(dt_say_list_t *out, const char *lang, double amount, const char *currency);

/* The words joined as text ("twenty-one thousand"); the length written (truncated to fit). */
size_t dt_say_text(const dt_say_list_t *l, char *buf, size_t len);

#endif
