/* Test plugins written against the raw C ABI, one per loading case. The case is chosen at
 * compile time with VZKIT_TEST_CASE. */
#include <vzkit/plugin.h>

#include <stddef.h>
#include <string.h>

#define CASE_GOOD_OLD_MINOR 1
#define CASE_WRONG_MAJOR 2
#define CASE_NEWER_MINOR 3
#define CASE_ENTRY_FAILS 4
#define CASE_BAD_MANIFEST 5

static const char kManifest[] =
    "{\"name\": \"" VZKIT_TEST_NAME "\", \"version\": \"0.0.1\", \"summary\": \"test plugin\","
    " \"engines\": [\"qemu\"], \"schema\": {\"type\": \"object\", \"additionalProperties\": false,"
    " \"properties\": {\"size\": {\"type\": \"integer\", \"minimum\": 1, \"default\": 4}}}}";

static void emit(vzkit_type_sink* out, const char* text) {
  if (out && out->write) out->write(out->host_state, text, strlen(text));
}

static vzkit_type_status validate(vzkit_type_string request, vzkit_type_sink* out) {
  (void)request;
  emit(out, "[]");
  return VZKIT_STATUS_OK;
}

static vzkit_type_status assemble(vzkit_type_string request, vzkit_type_sink* out) {
  (void)request;
  emit(out, "{\"devices\": [{\"driver\": \"" VZKIT_TEST_NAME "\"}]}");
  return VZKIT_STATUS_OK;
}

/* The descriptor exactly as ABI 1.0 defined it: three members shorter than today's. */
typedef struct descriptor_v1_0 {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  const char* manifest_json;
  vzkit_on_validate on_validate;
  vzkit_on_assemble on_assemble;
} descriptor_v1_0;

#if VZKIT_TEST_CASE == CASE_GOOD_OLD_MINOR
static const descriptor_v1_0 kDescriptor = {sizeof(descriptor_v1_0), 1, 0, kManifest, validate, assemble};
#elif VZKIT_TEST_CASE == CASE_WRONG_MAJOR
static const descriptor_v1_0 kDescriptor = {sizeof(descriptor_v1_0), VZKIT_ABI_MAJOR + 1, 0, kManifest, validate, assemble};
#elif VZKIT_TEST_CASE == CASE_NEWER_MINOR
static const descriptor_v1_0 kDescriptor = {sizeof(descriptor_v1_0), VZKIT_ABI_MAJOR, VZKIT_ABI_MINOR + 1, kManifest,
                                            validate, assemble};
#elif VZKIT_TEST_CASE == CASE_BAD_MANIFEST
static const descriptor_v1_0 kDescriptor = {sizeof(descriptor_v1_0), 1, 0, "{\"name\": 42}", validate, assemble};
#endif

VZKIT_PLUGIN_EXPORT const vzkit_type_plugin_descriptor* vzkit_plugin_entry(const vzkit_type_host_info* host,
                                                                            vzkit_type_sink* error) {
  (void)host;
#if VZKIT_TEST_CASE == CASE_ENTRY_FAILS
  emit(error, "the test device is not present on this host");
  return NULL;
#else
  (void)error;
  return (const vzkit_type_plugin_descriptor*)(const void*)&kDescriptor;
#endif
}
