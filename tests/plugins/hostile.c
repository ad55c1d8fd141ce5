/* Plugins that misbehave in ways no return value can say: they crash, hang, exit or flood the
 * host, while loading or inside a hook. The case is chosen at compile time with VZKIT_TEST_CASE;
 * each lives in a folder of its own under test-plugins/hostile-*. */
#include <vzkit/plugin.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CASE_CRASH_IN_ENTRY 1
#define CASE_ABORT_IN_ENTRY 2
#define CASE_HANG_IN_ENTRY 3
#define CASE_EXIT_IN_ENTRY 4
#define CASE_CHATTY_ENTRY 5
#define CASE_CRASH_IN_VALIDATE 6
#define CASE_EXIT_IN_VALIDATE 7
#define CASE_ODD_STATUS 8
#define CASE_HUGE_MANIFEST 9
#define CASE_FLOOD_IN_VALIDATE 10
#define CASE_HANG_IN_VALIDATE 11
#define CASE_OVERFLOW_IN_ASSEMBLE 12

/* Complete enough that `vzkit plugin check` goes on to call its hooks. */
static const char kManifest[] =
    "{\"name\": \"" VZKIT_TEST_NAME "\", \"version\": \"0.0.1\", \"summary\": \"a plugin that misbehaves\","
    " \"engines\": [\"qemu\", \"vz\"], \"vz\": {\"min_macos\": \"13.0\", \"classes\": []},"
    " \"schema\": {\"$schema\": \"http://json-schema.org/draft-07/schema#\", \"title\": \"Hostile\","
    " \"description\": \"A test plugin that misbehaves.\", \"type\": \"object\", \"additionalProperties\": false,"
    " \"properties\": {}, \"examples\": [{}]}}";

static void emit(vzkit_type_sink* out, const char* text, size_t size) {
  if (out && out->write) out->write(out->host_state, text, size);
}

static volatile int* g_nowhere __attribute__((unused));

#pragma GCC diagnostic ignored "-Winfinite-recursion"
__attribute__((unused)) static int recurse(int n) {
  volatile char pad[4096];
  pad[0] = (char)n;
  return recurse(n + 1) + pad[0];
}

static vzkit_type_status validate(vzkit_type_string request, vzkit_type_sink* out) {
  (void)request;
#if VZKIT_TEST_CASE == CASE_CRASH_IN_VALIDATE
  *g_nowhere = 1;
#elif VZKIT_TEST_CASE == CASE_EXIT_IN_VALIDATE
  exit(0);
#elif VZKIT_TEST_CASE == CASE_ODD_STATUS
  emit(out, "a status nobody defined", 23);
  return (vzkit_type_status)77;
#elif VZKIT_TEST_CASE == CASE_FLOOD_IN_VALIDATE
  {
    static char chunk[65536];
    memset(chunk, ' ', sizeof chunk);
    emit(out, "[", 1);
    for (int i = 0; i < 64; ++i) emit(out, chunk, sizeof chunk); /* 4 MiB */
    emit(out, "]", 1);
    return VZKIT_STATUS_OK;
  }
#elif VZKIT_TEST_CASE == CASE_HANG_IN_VALIDATE
  for (;;) pause();
#endif
  emit(out, "[]", 2);
  return VZKIT_STATUS_OK;
}

static vzkit_type_status assemble(vzkit_type_string request, vzkit_type_sink* out) {
  (void)request;
#if VZKIT_TEST_CASE == CASE_OVERFLOW_IN_ASSEMBLE
  return (vzkit_type_status)recurse(0);
#endif
  emit(out, "{}", 2);
  return VZKIT_STATUS_OK;
}

static vzkit_type_plugin_descriptor g_descriptor = {sizeof(vzkit_type_plugin_descriptor), VZKIT_ABI_MAJOR,
                                                    VZKIT_ABI_MINOR, kManifest, validate, assemble, NULL};

VZKIT_PLUGIN_EXPORT const vzkit_type_plugin_descriptor* vzkit_plugin_entry(const vzkit_type_host_info* host,
                                                                            vzkit_type_sink* error) {
  (void)host;
  (void)error;
#if VZKIT_TEST_CASE == CASE_CRASH_IN_ENTRY
  *g_nowhere = 1;
#elif VZKIT_TEST_CASE == CASE_ABORT_IN_ENTRY
  fprintf(stderr, "hostile: giving up\n");
  abort();
#elif VZKIT_TEST_CASE == CASE_HANG_IN_ENTRY
  for (;;) pause();
#elif VZKIT_TEST_CASE == CASE_EXIT_IN_ENTRY
  exit(0);
#elif VZKIT_TEST_CASE == CASE_CHATTY_ENTRY
  printf("{\"loading\": \"not me\"}\nhello from a chatty plugin\n");
  fflush(stdout);
#elif VZKIT_TEST_CASE == CASE_HUGE_MANIFEST
  {
    /* A valid manifest padded with 2 MiB of spaces. */
    size_t pad = 2u << 20, n = strlen(kManifest);
    char* big = malloc(n + pad + 1);
    if (!big) return NULL;
    memcpy(big, kManifest, n - 1);
    memset(big + n - 1, ' ', pad);
    big[n - 1 + pad] = '}';
    big[n + pad] = 0;
    g_descriptor.manifest_json = big;
  }
#endif
  return &g_descriptor;
}
