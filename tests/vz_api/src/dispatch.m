// Serial queues for the API model (see include/dispatch/dispatch.h): one worker thread per
// queue, blocks run in submission order inside an autorelease pool.
#import <Foundation/Foundation.h>

#include <dispatch/dispatch.h>

#include <Block.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct dispatch_item_s {
    dispatch_block_t block;
    struct dispatch_item_s *next;
} dispatch_item;

typedef struct dispatch_specific_s {
    const void *key;
    void *context;
    dispatch_function_t destructor;
    struct dispatch_specific_s *next;
} dispatch_specific;

struct dispatch_queue_s {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    dispatch_item *head;
    dispatch_item *tail;
    int references;
    int running;  // the worker thread exists
    char *label;
    dispatch_specific *specifics;
};

static __thread dispatch_queue_t current_queue;

static void queue_free(dispatch_queue_t q)
{
    for (dispatch_specific *s = q->specifics; s;) {
        dispatch_specific *next = s->next;
        if (s->destructor && s->context)
            s->destructor(s->context);
        free(s);
        s = next;
    }
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->wake);
    free(q->label);
    free(q);
}

static void *queue_worker(void *arg)
{
    dispatch_queue_t q = arg;
    GSRegisterCurrentThread();
    current_queue = q;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->head && q->references > 0)
            pthread_cond_wait(&q->wake, &q->lock);
        if (!q->head)
            break;  // released and drained
        dispatch_item *item = q->head;
        q->head = item->next;
        if (!q->head)
            q->tail = NULL;
        pthread_mutex_unlock(&q->lock);
        @autoreleasepool {
            item->block();
        }
        Block_release(item->block);
        free(item);
        pthread_mutex_lock(&q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    current_queue = NULL;
    queue_free(q);
    GSUnregisterCurrentThread();
    return NULL;
}

dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr)
{
    (void)attr;
    dispatch_queue_t q = calloc(1, sizeof *q);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->wake, NULL);
    q->references = 1;
    q->label = strdup(label ? label : "");
    return q;
}

static dispatch_queue_t main_queue;

static void make_main_queue(void)
{
    main_queue = dispatch_queue_create("com.apple.main-thread", DISPATCH_QUEUE_SERIAL);
}

dispatch_queue_t dispatch_get_main_queue(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_main_queue);
    return main_queue;
}

void dispatch_retain(dispatch_object_t q)
{
    pthread_mutex_lock(&q->lock);
    q->references++;
    pthread_mutex_unlock(&q->lock);
}

void dispatch_release(dispatch_object_t q)
{
    pthread_mutex_lock(&q->lock);
    int left = --q->references;
    int running = q->running;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
    if (left == 0 && !running)
        queue_free(q);  // never ran anything; otherwise the worker frees it once drained
}

void dispatch_async(dispatch_queue_t q, dispatch_block_t block)
{
    dispatch_item *item = calloc(1, sizeof *item);
    item->block = Block_copy(block);
    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->next = item;
    else
        q->head = item;
    q->tail = item;
    if (!q->running) {
        q->running = 1;
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        pthread_create(&thread, &attributes, queue_worker, q);
        pthread_attr_destroy(&attributes);
    }
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
}

void dispatch_sync(dispatch_queue_t q, dispatch_block_t block)
{
    __block pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
    __block pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
    __block int done = 0;
    dispatch_async(q, ^{
        block();
        pthread_mutex_lock(&done_lock);
        done = 1;
        pthread_cond_signal(&done_cond);
        pthread_mutex_unlock(&done_lock);
    });
    pthread_mutex_lock(&done_lock);
    while (!done)
        pthread_cond_wait(&done_cond, &done_lock);
    pthread_mutex_unlock(&done_lock);
}

const char *dispatch_queue_get_label(dispatch_queue_t q)
{
    if (!q)
        q = current_queue;
    return q ? q->label : "";
}

void dispatch_queue_set_specific(dispatch_queue_t q, const void *key, void *context, dispatch_function_t destructor)
{
    pthread_mutex_lock(&q->lock);
    dispatch_specific *s = q->specifics;
    while (s && s->key != key)
        s = s->next;
    if (!s) {
        s = calloc(1, sizeof *s);
        s->key = key;
        s->next = q->specifics;
        q->specifics = s;
    } else if (s->destructor && s->context) {
        s->destructor(s->context);
    }
    s->context = context;
    s->destructor = destructor;
    pthread_mutex_unlock(&q->lock);
}

void *dispatch_get_specific(const void *key)
{
    dispatch_queue_t q = current_queue;
    if (!q)
        return NULL;
    void *context = NULL;
    pthread_mutex_lock(&q->lock);
    for (dispatch_specific *s = q->specifics; s; s = s->next)
        if (s->key == key)
            context = s->context;
    pthread_mutex_unlock(&q->lock);
    return context;
}
