/*
 * say_words.c — numbers, digits, dates, times and money as words in English and Spanish
 * (see say_words.h). Pure: tables of static strings, no allocation, no I/O. Promises: every
 * number 0..999,999,999 comes out as it is said (American English without "and"; Spanish
 * with its own forms: "veintiuno", "cien"/"ciento", "quinientos", "mil" not "un mil",
 * "un millón"/"dos millones", the short "un"/"veintiún" before "mil", "millón" and nouns).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "dialtone/error.h"
#include "dialtone/say_words.h"

typedef struct {
  const char *word, *key;
} wk_t;

static void add(dt_say_list_t *l, const char *word, const char *key, bool hyphen) {
  if (l->n >= DT_SAY_MAX_WORDS) {
    l->overflow = true;
    return;
  }
  l->w[l->n].word = word;
  l->w[l->n].key = key;
  l->w[l->n].hyphen = hyphen;
  l->n++;
}
static void addw(dt_say_list_t *l, wk_t w) { add(l, w.word, w.key, false); }
static void addk(dt_say_list_t *l, const char *word) { add(l, word, word, false); } /* ASCII words */

bool dt_say_lang_ok(const char *lang) {
  return lang && (strncmp(lang, "en", 2) == 0 || strncmp(lang, "es", 2) == 0) && (lang[2] == '\0' || lang[2] == '-' || lang[2] == '_');
}
static bool is_es(const char *lang) { return strncmp(lang, "es", 2) == 0; }

/* ---------------------------------------------------------------- English */

static const char *const EN_ONES[20] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                        "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
                                        "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const EN_TENS[10] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};

static void en_below100(dt_say_list_t *l, int n) {
  if (n < 20) {
    addk(l, EN_ONES[n]);
    return;
  }
  addk(l, EN_TENS[n / 10]);
  if (n % 10) add(l, EN_ONES[n % 10], EN_ONES[n % 10], true);
}

static void en_below1000(dt_say_list_t *l, int n) {
  if (n >= 100) {
    addk(l, EN_ONES[n / 100]);
    addk(l, "hundred");
  }
  if (n % 100 || n == 0) en_below100(l, n % 100);
}

static void en_number(dt_say_list_t *l, long long n) {
  if (n == 0) {
    addk(l, "zero");
    return;
  }
  int m = (int)(n / 1000000), t = (int)(n / 1000 % 1000), r = (int)(n % 1000);
  if (m) {
    en_below1000(l, m);
    addk(l, "million");
  }
  if (t) {
    en_below1000(l, t);
    addk(l, "thousand");
  }
  if (r) en_below1000(l, r);
}

/* ---------------------------------------------------------------- Spanish */

static const wk_t ES_UNITS[30] = {
    {"cero", "cero"},           {"uno", "uno"},               {"dos", "dos"},
    {"tres", "tres"},           {"cuatro", "cuatro"},         {"cinco", "cinco"},
    {"seis", "seis"},           {"siete", "siete"},           {"ocho", "ocho"},
    {"nueve", "nueve"},         {"diez", "diez"},             {"once", "once"},
    {"doce", "doce"},           {"trece", "trece"},           {"catorce", "catorce"},
    {"quince", "quince"},       {"dieciséis", "dieciseis"},   {"diecisiete", "diecisiete"},
    {"dieciocho", "dieciocho"}, {"diecinueve", "diecinueve"}, {"veinte", "veinte"},
    {"veintiuno", "veintiuno"}, {"veintidós", "veintidos"},   {"veintitrés", "veintitres"},
    {"veinticuatro", "veinticuatro"}, {"veinticinco", "veinticinco"}, {"veintiséis", "veintiseis"},
    {"veintisiete", "veintisiete"},   {"veintiocho", "veintiocho"},   {"veintinueve", "veintinueve"}};
static const char *const ES_TENS[10] = {"", "", "", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta",
                                        "ochenta", "noventa"};
static const char *const ES_HUNDREDS[10] = {"", "ciento", "doscientos", "trescientos", "cuatrocientos",
                                            "quinientos", "seiscientos", "setecientos", "ochocientos", "novecientos"};
static const wk_t ES_UN = {"un", "un"}, ES_VEINTIUN = {"veintiún", "veintiun"};

/* apo: the short form before a noun or "mil" ("un", "veintiún", "treinta y un") */
static void es_below100(dt_say_list_t *l, int n, bool apo) {
  if (n < 30) {
    if (apo && n == 1) addw(l, ES_UN);
    else if (apo && n == 21) addw(l, ES_VEINTIUN);
    else addw(l, ES_UNITS[n]);
    return;
  }
  addk(l, ES_TENS[n / 10]);
  if (n % 10) {
    addk(l, "y");
    addw(l, apo && n % 10 == 1 ? ES_UN : ES_UNITS[n % 10]);
  }
}

static void es_below1000(dt_say_list_t *l, int n, bool apo) {
  if (n == 100) {
    addk(l, "cien");
    return;
  }
  if (n >= 100) addk(l, ES_HUNDREDS[n / 100]);
  if (n % 100 || n == 0) es_below100(l, n % 100, apo);
}

static void es_number(dt_say_list_t *l, long long n, bool apo) {
  if (n == 0) {
    addw(l, ES_UNITS[0]);
    return;
  }
  int m = (int)(n / 1000000), t = (int)(n / 1000 % 1000), r = (int)(n % 1000);
  if (m == 1) {
    addw(l, ES_UN);
    addw(l, (wk_t){"millón", "millon"});
  } else if (m) {
    es_below1000(l, m, true);
    addw(l, (wk_t){"millones", "millones"});
  }
  if (t == 1) {
    addk(l, "mil");
  } else if (t) {
    es_below1000(l, t, true);
    addk(l, "mil");
  }
  if (r) es_below1000(l, r, apo);
}

/* ---------------------------------------------------------------- helpers */

static int number(dt_say_list_t *l, const char *lang, long long n, bool apo) {
  if (n < -DT_SAY_NUMBER_MAX || n > DT_SAY_NUMBER_MAX) return DT_EINVAL;
  if (n < 0) {
    addk(l, is_es(lang) ? "menos" : "minus");
    n = -n;
  }
  if (is_es(lang)) es_number(l, n, apo);
  else en_number(l, n);
  return l->overflow ? DT_ELIMIT : 0;
}

int dt_say_number(dt_say_list_t *out, const char *lang, long long n) {
  out->n = 0;
  out->overflow = false;
  if (!dt_say_lang_ok(lang)) return DT_EINVAL;
  return number(out, lang, n, false);
}

int dt_say_digits(dt_say_list_t *out, const char *lang, const char *digits) {
  static const char *const KEYS[10] = {"digit_0", "digit_1", "digit_2", "digit_3", "digit_4",
                                       "digit_5", "digit_6", "digit_7", "digit_8", "digit_9"};
  out->n = 0;
  out->overflow = false;
  size_t n = digits ? strlen(digits) : 0;
  if (!dt_say_lang_ok(lang) || n == 0 || n > DT_SAY_MAX_DIGITS) return DT_EINVAL;
  bool es = is_es(lang);
  for (size_t i = 0; i < n; i++) {
    char c = digits[i];
    if (c >= '0' && c <= '9') add(out, es ? ES_UNITS[c - '0'].word : EN_ONES[c - '0'], KEYS[c - '0'], false);
    else if (c == '*') add(out, es ? "asterisco" : "star", "star", false);
    else if (c == '#') add(out, es ? "numeral" : "pound", "pound", false);
    else return DT_EINVAL;
  }
  return 0;
}

static const char *const EN_MONTHS[12] = {"January", "February", "March",     "April",   "May",      "June",
                                          "July",    "August",   "September", "October", "November", "December"};
static const char *const EN_MONTH_KEYS[12] = {"january", "february", "march",     "april",   "may",      "june",
                                              "july",    "august",   "september", "october", "november", "december"};
static const char *const ES_MONTHS[12] = {"enero", "febrero", "marzo",      "abril",   "mayo",      "junio",
                                          "julio", "agosto",  "septiembre", "octubre", "noviembre", "diciembre"};
static const char *const EN_DAYS[7] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
static const char *const EN_DAY_KEYS[7] = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
static const wk_t ES_DAYS[7] = {{"domingo", "domingo"}, {"lunes", "lunes"},     {"martes", "martes"},
                                {"miércoles", "miercoles"}, {"jueves", "jueves"}, {"viernes", "viernes"},
                                {"sábado", "sabado"}};
static const char *const EN_ORD[20] = {"", "first", "second", "third", "fourth", "fifth", "sixth",
                                       "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth",
                                       "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
                                       "nineteenth"};

static int days_in(int year, int month) {
  static const int D[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : D[month - 1];
}

int dt_say_date(dt_say_list_t *out, const char *lang, int year, int month, int day, int weekday) {
  out->n = 0;
  out->overflow = false;
  if (!dt_say_lang_ok(lang) || year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 ||
      day > days_in(year, month) || weekday < -1 || weekday > 6)
    return DT_EINVAL;
  if (is_es(lang)) { /* "jueves tres de diciembre de dos mil veintiséis" */
    if (weekday >= 0) addw(out, ES_DAYS[weekday]);
    if (day == 1) addk(out, "primero");
    else es_number(out, day, false);
    addk(out, "de");
    addk(out, ES_MONTHS[month - 1]);
    addk(out, "de");
    es_number(out, year, false);
  } else { /* "Thursday December third two thousand twenty-six" */
    if (weekday >= 0) add(out, EN_DAYS[weekday], EN_DAY_KEYS[weekday], false);
    add(out, EN_MONTHS[month - 1], EN_MONTH_KEYS[month - 1], false);
    if (day < 20) addk(out, EN_ORD[day]);
    else if (day == 20) addk(out, "twentieth");
    else if (day == 30) addk(out, "thirtieth");
    else {
      addk(out, EN_TENS[day / 10]);
      add(out, EN_ORD[day % 10], EN_ORD[day % 10], true);
    }
    en_number(out, year);
  }
  return out->overflow ? DT_ELIMIT : 0;
}

int dt_say_time(dt_say_list_t *out, const char *lang, int hour, int minute) {
  out->n = 0;
  out->overflow = false;
  if (!dt_say_lang_ok(lang) || hour < 0 || hour > 23 || minute < 0 || minute > 59) return DT_EINVAL;
  int h12 = hour % 12 ? hour % 12 : 12;
  if (is_es(lang)) { /* "las tres y cuarenta y cinco de la tarde" */
    addk(out, h12 == 1 ? "la" : "las");
    if (h12 == 1) addk(out, "una");
    else es_number(out, h12, false);
    if (minute) {
      addk(out, "y");
      es_number(out, minute, false);
    }
    addk(out, "de");
    addk(out, "la");
    if (hour < 6) addk(out, "madrugada");
    else if (hour < 12) addw(out, (wk_t){"mañana", "manana"});
    else if (hour < 20) addk(out, "tarde");
    else addk(out, "noche");
  } else { /* "three forty-five p.m.", "nine oh five a.m.", "noon" is "twelve o'clock p.m." */
    en_number(out, h12);
    if (minute == 0) add(out, "o'clock", "oclock", false);
    else if (minute < 10) {
      addk(out, "oh");
      en_number(out, minute);
    } else {
      en_number(out, minute);
    }
    add(out, hour < 12 ? "a.m." : "p.m.", hour < 12 ? "am" : "pm", false);
  }
  return out->overflow ? DT_ELIMIT : 0;
}

typedef struct {
  const char *code;
  wk_t en_one, en_many, en_cent, en_cents, es_one, es_many, es_cent, es_cents;
} currency_t;

static const currency_t CURRENCIES[] = {
    {"USD", {"dollar", "dollar"}, {"dollars", "dollars"}, {"cent", "cent"}, {"cents", "cents"},
     {"dólar", "dolar"}, {"dólares", "dolares"}, {"centavo", "centavo"}, {"centavos", "centavos"}},
    {"EUR", {"euro", "euro"}, {"euros", "euros"}, {"cent", "cent"}, {"cents", "cents"},
     {"euro", "euro"}, {"euros", "euros"}, {"céntimo", "centimo"}, {"céntimos", "centimos"}},
    {"MXN", {"peso", "peso"}, {"pesos", "pesos"}, {"centavo", "centavo"}, {"centavos", "centavos"},
     {"peso", "peso"}, {"pesos", "pesos"}, {"centavo", "centavo"}, {"centavos", "centavos"}},
    {"GBP", {"pound", "pound_sterling"}, {"pounds", "pounds"}, {"penny", "penny"}, {"pence", "pence"},
     {NULL, NULL}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL}}, /* libra is feminine: not yet in Spanish */
};

int dt_say_money(dt_say_list_t *out, const char *lang, double amount, const char *currency) {
  out->n = 0;
  out->overflow = false;
  if (!dt_say_lang_ok(lang) || !currency || !(amount >= 0 && amount < 1e9)) return DT_EINVAL;
  const currency_t *cur = NULL;
  for (size_t i = 0; i < sizeof CURRENCIES / sizeof *CURRENCIES; i++)
    if (strcmp(CURRENCIES[i].code, currency) == 0) cur = &CURRENCIES[i];
  bool es = is_es(lang);
  if (!cur || (es && !cur->es_one.word)) return DT_EINVAL;
  long long total = llround(amount * 100.0);
  long long units = total / 100;
  int cents = (int)(total % 100);
  if (units > DT_SAY_NUMBER_MAX) return DT_EINVAL;
  if (units > 0 || cents == 0) {
    number(out, lang, units, true);
    if (es && units >= 1000000 && units % 1000000 == 0) addk(out, "de"); /* "un millón de dólares" */
    addw(out, units == 1 ? (es ? cur->es_one : cur->en_one) : (es ? cur->es_many : cur->en_many));
  }
  if (cents) {
    if (units > 0) addk(out, es ? "con" : "and");
    number(out, lang, cents, true);
    addw(out, cents == 1 ? (es ? cur->es_cent : cur->en_cent) : (es ? cur->es_cents : cur->en_cents));
  }
  return out->overflow ? DT_ELIMIT : 0;
}

size_t dt_say_text(const dt_say_list_t *l, char *buf, size_t len) {
  size_t at = 0;
  if (len == 0) return 0;
  buf[0] = '\0';
  for (size_t i = 0; i < l->n; i++) {
    int w = snprintf(buf + at, len - at, "%s%s", i == 0 ? "" : l->w[i].hyphen ? "-" : " ", l->w[i].word);
    if (w < 0 || (size_t)w >= len - at) {
      buf[len - 1] = '\0';
      return len - 1;
    }
    at += (size_t)w;
  }
  return at;
}
