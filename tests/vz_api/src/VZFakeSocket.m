// The recording fake's Virtio socket device: VZVirtualMachine.socketDevices (one
// VZVirtioSocketDevice per VZVirtioSocketDeviceConfiguration of its configuration) and
// connectToPort:completionHandler:, which reaches a stand-in guest listener
// (VZFakeSetGuestSocketListener) through a socket pair. As in the framework, it must be called on
// the VM's queue and its completion handler runs there.
#import "VZFakeInternal.h"

#include <Block.h>
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

// Blocks are kept with Block_copy / Block_release: with GNUstep's runtime a block is not
// always an object that answers -copy and -retain.
enum { kMaxListeners = 16 };
static struct {
    uint32_t port;
    void (^accept)(int fd);
} listeners[kMaxListeners];
static pthread_mutex_t listeners_lock = PTHREAD_MUTEX_INITIALIZER;
static dispatch_queue_t guest_queue;

static void ensure_listeners(void)
{
    pthread_mutex_lock(&listeners_lock);
    if (!guest_queue) guest_queue = dispatch_queue_create("org.vzkit.fake.guest-sockets", NULL);
    pthread_mutex_unlock(&listeners_lock);
}

void VZFakeSetGuestSocketListener(uint32_t port, void (^accept)(int fd))
{
    ensure_listeners();
    pthread_mutex_lock(&listeners_lock);
    int free_slot = -1;
    for (int i = 0; i < kMaxListeners; ++i) {
        if (listeners[i].accept && listeners[i].port == port) {
            Block_release(listeners[i].accept);
            listeners[i].accept = NULL;
        }
        if (!listeners[i].accept && free_slot < 0) free_slot = i;
    }
    if (accept && free_slot >= 0) {
        listeners[free_slot].port = port;
        listeners[free_slot].accept = Block_copy(accept);
    }
    pthread_mutex_unlock(&listeners_lock);
}

void VZFakeResetSockets(void)
{
    ensure_listeners();
    pthread_mutex_lock(&listeners_lock);
    for (int i = 0; i < kMaxListeners; ++i) {
        if (listeners[i].accept) Block_release(listeners[i].accept);
        listeners[i].accept = NULL;
    }
    pthread_mutex_unlock(&listeners_lock);
}

// The listener of `port`, copied (Block_release it), or NULL.
static void (^listener_of(uint32_t port))(int)
{
    ensure_listeners();
    void (^found)(int) = NULL;
    pthread_mutex_lock(&listeners_lock);
    for (int i = 0; i < kMaxListeners; ++i)
        if (listeners[i].accept && listeners[i].port == port) found = Block_copy(listeners[i].accept);
    pthread_mutex_unlock(&listeners_lock);
    return found;
}

@implementation VZSocketDevice
FAKE_ROOT_METHODS
@end

@implementation VZVirtioSocketConnection
- (void)close
{
    const int fd = [self fileDescriptor];
    if (fd >= 0) close(fd);
    VZFakeSet(self, @"fileDescriptor", [NSNumber numberWithInt:-1]);
}
- (void)dealloc
{
    [self close];
    VZFakeForget(self);
    [super dealloc];
}
FAKE_INTEGER_READONLY(int, fileDescriptor, @"fileDescriptor")
FAKE_INTEGER_READONLY(uint32_t, destinationPort, @"destinationPort")
FAKE_INTEGER_READONLY(uint32_t, sourcePort, @"sourcePort")
@end

@implementation VZVirtioSocketDevice

- (void)connectToPort:(uint32_t)port
    completionHandler:(void (^)(VZVirtioSocketConnection *connection, NSError *error))completionHandler
{
    VZVirtualMachine *vm = (VZVirtualMachine *)[(NSValue *)VZFakeGet(self, @"@machine") pointerValue];
    if (dispatch_get_specific(vm) != vm)
        [NSException raise:NSInternalInconsistencyException
                    format:@"-[VZVirtioSocketDevice connectToPort:completionHandler:] must be called on the virtual machine's queue"];
    VZFakeRecordCall(vm, "connectToPort:completionHandler:", [vm state]);
    void (^accept)(int) = listener_of(port);
    int fds[2] = {-1, -1};
    const BOOL running = [vm state] == VZVirtualMachineStateRunning;
    if (accept && running && socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) fds[0] = fds[1] = -1;
    VZVirtioSocketConnection *connection = nil;
    if (fds[0] >= 0) {
        connection = [VZVirtioSocketConnection alloc];
        VZFakeSet(connection, @"fileDescriptor", [NSNumber numberWithInt:fds[0]]);
        VZFakeSet(connection, @"destinationPort", [NSNumber numberWithUnsignedInt:port]);
        VZFakeSet(connection, @"sourcePort", [NSNumber numberWithUnsignedInt:1024]);
        const int guest_end = fds[1];
        void (^guest)(int) = Block_copy(accept);
        dispatch_async(guest_queue, ^{
            guest(guest_end);
            Block_release(guest);
        });
    }
    if (accept) Block_release(accept);
    void (^handler)(VZVirtioSocketConnection *, NSError *) = Block_copy(completionHandler);
    [vm retain];
    dispatch_async((dispatch_queue_t)[(NSValue *)VZFakeGet(vm, @"@queue") pointerValue], ^{
        if (connection)
            handler(connection, nil);
        else
            handler(nil, [NSError errorWithDomain:NSPOSIXErrorDomain code:ECONNRESET userInfo:nil]);
        [connection release];
        Block_release(handler);
        [vm release];
    });
}

@end

@implementation VZVirtualMachine (VZFakeSockets)

- (NSArray *)socketDevices
{
    NSArray *made = VZFakeGet(self, @"socketDevices");
    if (made) return made;
    VZVirtualMachineConfiguration *configuration = VZFakeGet(self, @"configuration");
    NSMutableArray *devices = [NSMutableArray array];
    for (id c in [configuration socketDevices]) {
        if (![c isKindOfClass:[VZVirtioSocketDeviceConfiguration class]]) continue;
        VZVirtioSocketDevice *device = [VZVirtioSocketDevice alloc];
        VZFakeSet(device, @"@machine", [NSValue valueWithPointer:self]);  // not retained: the VM owns it
        [devices addObject:device];
        [device release];
    }
    VZFakeSet(self, @"socketDevices", devices);
    return devices;
}

@end
