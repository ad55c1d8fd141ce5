// The recording fake's Virtio socket device: VZVirtualMachine.socketDevices (one
// VZVirtioSocketDevice per VZVirtioSocketDeviceConfiguration of its configuration) and
// connectToPort:completionHandler:, which reaches a stand-in guest listener
// (VZFakeSetGuestSocketListener) through a socket pair. As in the framework, it must be called on
// the VM's queue and its completion handler runs there.
#import "VZFakeInternal.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

static NSMutableDictionary *listeners;  // NSNumber port -> block (void (^)(int))
static NSLock *listeners_lock;
static dispatch_queue_t guest_queue;

static void ensure_listeners(void)
{
    static int made = 0;
    if (made) return;
    made = 1;
    listeners = [[NSMutableDictionary alloc] init];
    listeners_lock = [[NSLock alloc] init];
    guest_queue = dispatch_queue_create("org.vzkit.fake.guest-sockets", NULL);
}

void VZFakeSetGuestSocketListener(uint32_t port, void (^accept)(int fd))
{
    ensure_listeners();
    [listeners_lock lock];
    if (accept) {
        id copy = [accept copy];
        [listeners setObject:copy forKey:[NSNumber numberWithUnsignedInt:port]];
        [copy release];
    } else {
        [listeners removeObjectForKey:[NSNumber numberWithUnsignedInt:port]];
    }
    [listeners_lock unlock];
}

void VZFakeResetSockets(void)
{
    ensure_listeners();
    [listeners_lock lock];
    [listeners removeAllObjects];
    [listeners_lock unlock];
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
    ensure_listeners();
    [listeners_lock lock];
    void (^accept)(int) = [[listeners objectForKey:[NSNumber numberWithUnsignedInt:port]] retain];
    [listeners_lock unlock];
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
        dispatch_async(guest_queue, ^{
            accept(guest_end);
        });
    }
    [accept release];
    void (^handler)(VZVirtioSocketConnection *, NSError *) = [completionHandler copy];
    [vm retain];
    dispatch_async((dispatch_queue_t)[(NSValue *)VZFakeGet(vm, @"@queue") pointerValue], ^{
        if (connection)
            handler(connection, nil);
        else
            handler(nil, [NSError errorWithDomain:NSPOSIXErrorDomain code:ECONNRESET userInfo:nil]);
        [connection release];
        [handler release];
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
