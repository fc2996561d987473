/*
 * test_meeting_link.c — core/graph/meeting_link.c: Teams join links (classic meetup-join and
 * short /meet/ links) to chatInfo and meetingInfo fields, and clear errors for links it
 * cannot read.
 */
#include <string.h>
#include "dialtone/error.h"
#include "dialtone/meeting_link.h"
#include "harness/dt_test.h"

/* The shape Teams hands out (thread id and context URL-encoded). */
#define CLASSIC                                                                                              \
  "https://teams.microsoft.com/l/meetup-join/"                                                               \
  "19%3ameeting_NjY4ZDQzYmUtNWQ0Mi00ZDYxLWI1YjQtZjg5YTAzMjYxN2I4%40thread.v2/0"                              \
  "?context=%7b%22Tid%22%3a%22aa67bd4c-8475-432d-bd41-39f255720e0a%22%2c%22Oid%22%3a%225810cede-f3cc-42eb-"   \
  "b2c1-e9bd5d53ec96%22%7d"

DT_TEST(classic_link_to_chat_and_organizer) {
  dt_meeting_link_t l;
  char err[200];
  DT_ASSERT_EQ_INT(dt_meeting_link_parse(CLASSIC, &l, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(l.kind, DT_MEETING_LINK_CLASSIC);
  DT_ASSERT_EQ_STR(l.thread_id, "19:meeting_NjY4ZDQzYmUtNWQ0Mi00ZDYxLWI1YjQtZjg5YTAzMjYxN2I4@thread.v2");
  DT_ASSERT_EQ_STR(l.message_id, "0");
  DT_ASSERT_EQ_STR(l.tenant_id, "aa67bd4c-8475-432d-bd41-39f255720e0a");
  DT_ASSERT_EQ_STR(l.organizer_id, "5810cede-f3cc-42eb-b2c1-e9bd5d53ec96");
  DT_ASSERT_EQ_STR(l.reply_chain_id, "");
}

DT_TEST(context_message_id_is_the_reply_chain) {
  dt_meeting_link_t l;
  char err[200];
  const char *url = "https://teams.microsoft.com/l/meetup-join/19%3Ameeting_abc%40thread.v2/1612345678901"
                    "?context=%7B%22Tid%22%3A%22t-1%22%2C%22Oid%22%3A%22o-1%22%2C%22MessageId%22%3A%221612345678000%22%7D"
                    "&anon=true";
  DT_ASSERT_EQ_INT(dt_meeting_link_parse(url, &l, err, sizeof err), 0);
  DT_ASSERT_EQ_STR(l.thread_id, "19:meeting_abc@thread.v2");
  DT_ASSERT_EQ_STR(l.message_id, "1612345678901");
  DT_ASSERT_EQ_STR(l.reply_chain_id, "1612345678000");
  DT_ASSERT_EQ_STR(l.tenant_id, "t-1");
  DT_ASSERT_EQ_STR(l.organizer_id, "o-1");
}

DT_TEST(short_link_to_join_meeting_id) {
  dt_meeting_link_t l;
  char err[200];
  DT_ASSERT_EQ_INT(dt_meeting_link_parse("https://teams.microsoft.com/meet/21987654321?p=Ab3dEf", &l, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(l.kind, DT_MEETING_LINK_SHORT);
  DT_ASSERT_EQ_STR(l.join_meeting_id, "21987654321");
  DT_ASSERT_EQ_STR(l.passcode, "Ab3dEf");
}

static void refused(const char *url, const char *words) {
  dt_meeting_link_t l;
  char err[200];
  DT_ASSERT_EQ_INT(dt_meeting_link_parse(url, &l, err, sizeof err), DT_EINVAL);
  if (!strstr(err, words)) fprintf(stderr, "error for %s: %s\n", url ? url : "(null)", err);
  DT_ASSERT(strstr(err, words) != NULL);
}

DT_TEST(bad_links_are_clear_errors) {
  refused(NULL, "empty");
  refused("", "empty");
  refused("http://teams.microsoft.com/l/meetup-join/19%3ameeting_a%40thread.v2/0?context=%7b%7d", "https://");
  refused("https://evil.example.com/l/meetup-join/19%3ameeting_a%40thread.v2/0", "not a Teams host");
  refused("https://teams.microsoft.com", "no path");
  refused("https://teams.microsoft.com/l/chat/0/0", "neither");
  refused("https://teams.microsoft.com/l/meetup-join/19%3ameeting_a%40thread.v2", "no thread and message");
  refused("https://teams.microsoft.com/l/meetup-join/hello/0?context=%7b%7d", "not a Teams thread");
  refused("https://teams.microsoft.com/l/meetup-join/19%3ameeting_a%40thread.v2/x?context=%7b%7d", "message id");
  refused("https://teams.microsoft.com/l/meetup-join/19%3ameeting_a%40thread.v2/0", "no context");
  refused("https://teams.microsoft.com/l/meetup-join/19%3ameeting_a%40thread.v2/0?context=%7b", "not a JSON object");
  refused("https://teams.microsoft.com/l/meetup-join/19%3ameeting_a%40thread.v2/0?context=%7b%22Tid%22%3a%22t%22%7d",
          "\"Oid\"");
  refused("https://teams.microsoft.com/l/meetup-join/19%3ameeting_a%40thread.v2/0?context=%7b%22Oid%22%3a%22o%22%7d",
          "\"Tid\"");
  refused("https://teams.microsoft.com/l/meetup-join/19%3ameeting_a%2%40thread.v2/0?context=%7b%7d", "URL-encoded");
  refused("https://teams.microsoft.com/l/meetup-join/19%3ameeting_%0a%40thread.v2/0?context=%7b%7d", "URL-encoded");
  refused("https://teams.microsoft.com/l/meetup-join/19%3ameeting_a%40thread.v2/0?context=%7b%22Tid%22%3a%22t%22%2c"
          "%22Oid%22%3a%22o%22%2c%22MessageId%22%3a%22x%22%7d", "reply chain");
  refused("https://teams.microsoft.com/meet/abc", "not a number");
  refused("https://teams.microsoft.com/meet/123?p=a%20b", "passcode");
  char big[DT_MEETING_LINK_MAX + 64];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  memcpy(big, "https://teams.microsoft.com/", 28);
  refused(big, "longer than");
}

DT_TEST_MAIN()
