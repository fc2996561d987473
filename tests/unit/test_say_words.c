/* Unit tests for say_words.c: numbers 0..999,999,999 in English and Spanish (Spanish's own
   forms), digits, dates, times, money, prompt keys, and the errors. */
#include <stdio.h>
#include <string.h>
#include "dialtone/error.h"
#include "dialtone/say_words.h"
#include "harness/dt_test.h"

static const char *num(const char *lang, long long n) {
  static char buf[1024];
  dt_say_list_t l;
  if (dt_say_number(&l, lang, n) != 0) return "<error>";
  dt_say_text(&l, buf, sizeof buf);
  return buf;
}

static const struct {
  long long n;
  const char *en, *es;
} NUMBERS[] = {
    {0, "zero", "cero"},
    {1, "one", "uno"},
    {7, "seven", "siete"},
    {10, "ten", "diez"},
    {11, "eleven", "once"},
    {15, "fifteen", "quince"},
    {16, "sixteen", "dieciséis"},
    {19, "nineteen", "diecinueve"},
    {20, "twenty", "veinte"},
    {21, "twenty-one", "veintiuno"},
    {22, "twenty-two", "veintidós"},
    {23, "twenty-three", "veintitrés"},
    {26, "twenty-six", "veintiséis"},
    {29, "twenty-nine", "veintinueve"},
    {30, "thirty", "treinta"},
    {31, "thirty-one", "treinta y uno"},
    {45, "forty-five", "cuarenta y cinco"},
    {99, "ninety-nine", "noventa y nueve"},
    {100, "one hundred", "cien"},
    {101, "one hundred one", "ciento uno"},
    {110, "one hundred ten", "ciento diez"},
    {121, "one hundred twenty-one", "ciento veintiuno"},
    {200, "two hundred", "doscientos"},
    {500, "five hundred", "quinientos"},
    {555, "five hundred fifty-five", "quinientos cincuenta y cinco"},
    {700, "seven hundred", "setecientos"},
    {900, "nine hundred", "novecientos"},
    {999, "nine hundred ninety-nine", "novecientos noventa y nueve"},
    {1000, "one thousand", "mil"},
    {1001, "one thousand one", "mil uno"},
    {1100, "one thousand one hundred", "mil cien"},
    {1234, "one thousand two hundred thirty-four", "mil doscientos treinta y cuatro"},
    {2000, "two thousand", "dos mil"},
    {2026, "two thousand twenty-six", "dos mil veintiséis"},
    {21000, "twenty-one thousand", "veintiún mil"},
    {31000, "thirty-one thousand", "treinta y un mil"},
    {100000, "one hundred thousand", "cien mil"},
    {101000, "one hundred one thousand", "ciento un mil"},
    {121121, "one hundred twenty-one thousand one hundred twenty-one", "ciento veintiún mil ciento veintiuno"},
    {500000, "five hundred thousand", "quinientos mil"},
    {999999, "nine hundred ninety-nine thousand nine hundred ninety-nine",
     "novecientos noventa y nueve mil novecientos noventa y nueve"},
    {1000000, "one million", "un millón"},
    {1000001, "one million one", "un millón uno"},
    {1500000, "one million five hundred thousand", "un millón quinientos mil"},
    {2000000, "two million", "dos millones"},
    {21000000, "twenty-one million", "veintiún millones"},
    {100000000, "one hundred million", "cien millones"},
    {123456789, "one hundred twenty-three million four hundred fifty-six thousand seven hundred eighty-nine",
     "ciento veintitrés millones cuatrocientos cincuenta y seis mil setecientos ochenta y nueve"},
    {999999999, "nine hundred ninety-nine million nine hundred ninety-nine thousand nine hundred ninety-nine",
     "novecientos noventa y nueve millones novecientos noventa y nueve mil novecientos noventa y nueve"},
    {-5, "minus five", "menos cinco"},
};

DT_TEST(numbers_in_english_and_spanish) {
  for (size_t i = 0; i < sizeof NUMBERS / sizeof *NUMBERS; i++) {
    DT_ASSERT_EQ_STR(num("en", NUMBERS[i].n), NUMBERS[i].en);
    DT_ASSERT_EQ_STR(num("es", NUMBERS[i].n), NUMBERS[i].es);
  }
  DT_ASSERT_EQ_STR(num("en-us", 42), "forty-two");
  DT_ASSERT_EQ_STR(num("es-mx", 42), "cuarenta y dos");
}

DT_TEST(every_number_in_range_has_words) {
  /* a sweep: no overflow, no empty word, in both languages */
  static const long long STEPS[] = {0, 1, 7, 97, 1009, 99991, 7777777};
  for (size_t s = 0; s < sizeof STEPS / sizeof *STEPS; s++) {
    for (long long n = 0; n <= DT_SAY_NUMBER_MAX; n += STEPS[s] ? STEPS[s] * 1013 + 1 : 1) {
      dt_say_list_t l;
      DT_ASSERT_EQ_INT(dt_say_number(&l, "en", n), 0);
      DT_ASSERT(l.n > 0 && !l.overflow);
      DT_ASSERT_EQ_INT(dt_say_number(&l, "es", n), 0);
      for (size_t i = 0; i < l.n; i++) DT_ASSERT(l.w[i].word[0] && l.w[i].key[0]);
      if (STEPS[s] == 0 && n >= 2000) break;
    }
  }
}

DT_TEST(number_out_of_range_or_language_refused) {
  dt_say_list_t l;
  DT_ASSERT_EQ_INT(dt_say_number(&l, "en", 1000000000LL), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_say_number(&l, "fr", 1), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_say_number(&l, "english", 1), DT_EINVAL);
}

DT_TEST(keys_are_ascii_prompt_names) {
  dt_say_list_t l;
  DT_ASSERT_EQ_INT(dt_say_number(&l, "es", 1016), 0);
  DT_ASSERT_EQ_STR(l.w[1].word, "dieciséis");
  DT_ASSERT_EQ_STR(l.w[1].key, "dieciseis");
  DT_ASSERT_EQ_INT(dt_say_number(&l, "es", 1000000), 0);
  DT_ASSERT_EQ_STR(l.w[1].key, "millon");
  DT_ASSERT_EQ_INT(dt_say_number(&l, "en", 21), 0);
  DT_ASSERT_EQ_INT(l.n, 2);
  DT_ASSERT_EQ_STR(l.w[0].key, "twenty");
  DT_ASSERT_EQ_STR(l.w[1].key, "one");
  DT_ASSERT(l.w[1].hyphen);
}

static const char *text_of(const dt_say_list_t *l) {
  static char buf[1024];
  dt_say_text(l, buf, sizeof buf);
  return buf;
}

DT_TEST(digits) {
  dt_say_list_t l;
  DT_ASSERT_EQ_INT(dt_say_digits(&l, "en", "4270*#"), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "four two seven zero star pound");
  DT_ASSERT_EQ_STR(l.w[0].key, "digit_4");
  DT_ASSERT_EQ_STR(l.w[4].key, "star");
  DT_ASSERT_EQ_INT(dt_say_digits(&l, "es", "427#"), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "cuatro dos siete numeral");
  DT_ASSERT_EQ_STR(l.w[3].key, "pound");
  DT_ASSERT_EQ_INT(dt_say_digits(&l, "en", "12a"), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_say_digits(&l, "en", ""), DT_EINVAL);
}

DT_TEST(dates) {
  dt_say_list_t l;
  DT_ASSERT_EQ_INT(dt_say_date(&l, "en", 2026, 12, 3, 4), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "Thursday December third two thousand twenty-six");
  DT_ASSERT_EQ_INT(dt_say_date(&l, "en", 2026, 1, 21, -1), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "January twenty-first two thousand twenty-six");
  DT_ASSERT_EQ_INT(dt_say_date(&l, "en", 1999, 5, 30, -1), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "May thirtieth one thousand nine hundred ninety-nine");
  DT_ASSERT_EQ_INT(dt_say_date(&l, "es", 2026, 12, 3, 4), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "jueves tres de diciembre de dos mil veintiséis");
  DT_ASSERT_EQ_INT(dt_say_date(&l, "es", 2026, 1, 1, 4), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "jueves primero de enero de dos mil veintiséis");
  DT_ASSERT_EQ_INT(dt_say_date(&l, "es", 2024, 3, 21, 6), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "sábado veintiuno de marzo de dos mil veinticuatro");
  DT_ASSERT_EQ_INT(dt_say_date(&l, "en", 2026, 2, 29, -1), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_say_date(&l, "en", 2024, 2, 29, -1), 0);
  DT_ASSERT_EQ_INT(dt_say_date(&l, "en", 2026, 13, 1, -1), DT_EINVAL);
}

DT_TEST(times) {
  dt_say_list_t l;
  DT_ASSERT_EQ_INT(dt_say_time(&l, "en", 15, 45), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "three forty-five p.m.");
  DT_ASSERT_EQ_INT(dt_say_time(&l, "en", 9, 5), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "nine oh five a.m.");
  DT_ASSERT_EQ_INT(dt_say_time(&l, "en", 0, 0), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "twelve o'clock a.m.");
  DT_ASSERT_EQ_INT(dt_say_time(&l, "es", 15, 45), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "las tres y cuarenta y cinco de la tarde");
  DT_ASSERT_EQ_INT(dt_say_time(&l, "es", 13, 0), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "la una de la tarde");
  DT_ASSERT_EQ_INT(dt_say_time(&l, "es", 9, 21), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "las nueve y veintiuno de la mañana");
  DT_ASSERT_EQ_INT(dt_say_time(&l, "es", 22, 10), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "las diez y diez de la noche");
  DT_ASSERT_EQ_INT(dt_say_time(&l, "en", 24, 0), DT_EINVAL);
}

DT_TEST(money) {
  dt_say_list_t l;
  DT_ASSERT_EQ_INT(dt_say_money(&l, "en", 12.5, "USD"), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "twelve dollars and fifty cents");
  DT_ASSERT_EQ_INT(dt_say_money(&l, "en", 1.01, "USD"), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "one dollar and one cent");
  DT_ASSERT_EQ_INT(dt_say_money(&l, "en", 0.99, "EUR"), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "ninety-nine cents");
  DT_ASSERT_EQ_INT(dt_say_money(&l, "en", 0, "USD"), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "zero dollars");
  DT_ASSERT_EQ_INT(dt_say_money(&l, "en", 2.5, "GBP"), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "two pounds and fifty pence");
  DT_ASSERT_EQ_INT(dt_say_money(&l, "es", 12.5, "USD"), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "doce dólares con cincuenta centavos");
  DT_ASSERT_EQ_INT(dt_say_money(&l, "es", 1, "USD"), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "un dólar");
  DT_ASSERT_EQ_INT(dt_say_money(&l, "es", 21, "EUR"), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "veintiún euros");
  DT_ASSERT_EQ_INT(dt_say_money(&l, "es", 1000000, "MXN"), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "un millón de pesos");
  DT_ASSERT_EQ_INT(dt_say_money(&l, "es", 0.01, "EUR"), 0);
  DT_ASSERT_EQ_STR(text_of(&l), "un céntimo");
  DT_ASSERT_EQ_INT(dt_say_money(&l, "es", 2.5, "GBP"), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_say_money(&l, "en", 2.5, "XYZ"), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_say_money(&l, "en", -1, "USD"), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_say_money(&l, "en", 1e9, "USD"), DT_EINVAL);
}

DT_TEST(text_truncates_safely) {
  dt_say_list_t l;
  char small[8];
  DT_ASSERT_EQ_INT(dt_say_number(&l, "en", 777777777), 0);
  DT_ASSERT_EQ_INT(dt_say_text(&l, small, sizeof small), 7);
  DT_ASSERT_EQ_INT(strlen(small), 7);
}

DT_TEST_MAIN()
