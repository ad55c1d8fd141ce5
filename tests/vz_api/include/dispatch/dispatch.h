// A small part of libdispatch for hosts without it (Debian ships no libdispatch): serial queues
// with async/sync submission, labels and queue-specific values. Enough for VZVirtualMachine's
// "every call on its queue" rule and for the bridge's own queue. Not used on Apple platforms.
#pragma once

#if defined(__APPLE__)
#error "use the system <dispatch/dispatch.h> on Apple platforms"
#endif

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dispatch_queue_s *dispatch_queue_t;
typedef dispatch_queue_t dispatch_object_t;
typedef struct dispatch_queue_attr_s *dispatch_queue_attr_t;
typedef void (^dispatch_block_t)(void);
typedef void (*dispatch_function_t)(void *);

/// Serial queues only; concurrent attributes are treated as serial.
#define DISPATCH_QUEUE_SERIAL ((dispatch_queue_attr_t)0)
#define DISPATCH_CURRENT_QUEUE_LABEL ((dispatch_queue_t)0)

/// A new serial queue with one reference; each queue runs its blocks in order on its own thread.
dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr);
/// The process-wide "main" queue. Here it is an ordinary serial queue (there is no main run loop).
dispatch_queue_t dispatch_get_main_queue(void);
void dispatch_retain(dispatch_object_t object);
/// Drops a reference; the queue finishes the blocks already submitted before it goes away.
void dispatch_release(dispatch_object_t object);
void dispatch_async(dispatch_queue_t queue, dispatch_block_t block);
/// Runs `block` on `queue` and waits for it. Calling it from the same queue deadlocks, as on Apple.
void dispatch_sync(dispatch_queue_t queue, dispatch_block_t block);
const char *dispatch_queue_get_label(dispatch_queue_t queue);
void dispatch_queue_set_specific(dispatch_queue_t queue, const void *key, void *context, dispatch_function_t destructor);
/// The value set for `key` on the queue the caller is running on, or NULL.
void *dispatch_get_specific(const void *key);

#ifdef __cplusplus
}
#endif
