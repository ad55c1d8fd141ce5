// The recording fake's memory: one property table per live object, the creation and call logs,
// snapshots of object graphs, and the fake host's settings.
#import "VZFakeInternal.h"

#include <pthread.h>

static NSRecursiveLock *lock;
static NSMutableDictionary *tables;  // NSValue(pointer) -> NSMutableDictionary (properties)
static NSMutableArray *creations;
static NSMutableArray *calls;
static VZFakeHost host;

static NSString *const initializer_key = @"@initializer";

static void default_host(void)
{
    host.osMajor = 15;
    host.minCPU = 1;
    host.maxCPU = 8;
    host.minMemory = 128ull << 20;
    host.maxMemory = 64ull << 30;
    host.hardwareModelSupported = YES;
    host.rosettaAvailability = 2;
    host.virtualizationSupported = YES;
    host.guestIgnoresStopRequests = NO;
    host.nestedVirtualizationSupported = NO;  // an M1/M2 Mac (nested virtualization needs M3 or later)
    host.entitled = YES;
}

extern int VZFakeValidationLinked;
__attribute__((used)) static int *const keep_validation_linked = &VZFakeValidationLinked;
extern int VZFakeSaveRestoreLinked;
__attribute__((used)) static int *const keep_save_restore_linked = &VZFakeSaveRestoreLinked;

static void make_store(void)
{
    lock = [[NSRecursiveLock alloc] init];
    tables = [[NSMutableDictionary alloc] init];
    creations = [[NSMutableArray alloc] init];
    calls = [[NSMutableArray alloc] init];
    default_host();
}

static void ensure_store(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_store);
}

static NSValue *key_of(id object)
{
    return [NSValue valueWithPointer:(const void *)object];
}

VZFakeHost *VZFakeHostSettings(void)
{
    ensure_store();
    return &host;
}

id VZFakeGet(id object, NSString *key)
{
    ensure_store();
    [lock lock];
    id value = [[[[tables objectForKey:key_of(object)] objectForKey:key] retain] autorelease];
    [lock unlock];
    return value;
}

void VZFakeSet(id object, NSString *key, id value)
{
    ensure_store();
    [lock lock];
    NSValue *k = key_of(object);
    NSMutableDictionary *table = [tables objectForKey:k];
    if (!table) {
        table = [NSMutableDictionary dictionary];
        [tables setObject:table forKey:k];
    }
    if (value)
        [table setObject:value forKey:key];
    else
        [table removeObjectForKey:key];
    [lock unlock];
}

void VZFakeForget(id object)
{
    ensure_store();
    [lock lock];
    [tables removeObjectForKey:key_of(object)];
    [lock unlock];
}

NSDictionary *VZFakeProperties(id object)
{
    ensure_store();
    [lock lock];
    NSDictionary *copy = [[[tables objectForKey:key_of(object)] copy] autorelease];
    [lock unlock];
    return copy;
}

id VZFakeCopyObject(id object)
{
    ensure_store();
    id copy = [[object class] alloc];
    [lock lock];
    NSMutableDictionary *table = [[[tables objectForKey:key_of(object)] mutableCopy] autorelease];
    if (table)
        [tables setObject:table forKey:key_of(copy)];
    [lock unlock];
    return copy;
}

void VZFakeRecordCreation(id object, const char *initializer, NSArray *arguments)
{
    ensure_store();
    NSString *selector = [NSString stringWithUTF8String:initializer];
    VZFakeSet(object, initializer_key, selector);
    NSDictionary *entry = [NSDictionary dictionaryWithObjectsAndKeys:
        NSStringFromClass([object class]), @"class",
        selector, @"initializer",
        arguments ? arguments : [NSArray array], @"arguments",
        object, @"object",
        nil];
    [lock lock];
    [creations addObject:entry];
    [lock unlock];
}

void VZFakeRecordCall(id receiver, const char *selector, NSInteger state)
{
    ensure_store();
    NSDictionary *entry = [NSDictionary dictionaryWithObjectsAndKeys:
        [NSString stringWithUTF8String:selector], @"selector",
        [NSNumber numberWithInteger:state], @"state",
        receiver, @"object",
        [NSString stringWithUTF8String:dispatch_queue_get_label(DISPATCH_CURRENT_QUEUE_LABEL)], @"queue",
        nil];
    [lock lock];
    [calls addObject:entry];
    [lock unlock];
}

NSError *VZFakeError(NSInteger code, NSString *reason)
{
    NSString *description = code == VZErrorInvalidVirtualMachineConfiguration
        ? [@"Invalid virtual machine configuration. " stringByAppendingString:reason]
        : reason;
    // As the framework's validation errors: {NSLocalizedFailure = "Invalid virtual machine
    // configuration.", NSLocalizedFailureReason = the reason}, the description both together.
    NSDictionary *info = code == VZErrorInvalidVirtualMachineConfiguration
        ? [NSDictionary dictionaryWithObjectsAndKeys:
              description, NSLocalizedDescriptionKey,
              @"Invalid virtual machine configuration.", @"NSLocalizedFailure",
              reason, NSLocalizedFailureReasonErrorKey,
              nil]
        : [NSDictionary dictionaryWithObjectsAndKeys:
              description, NSLocalizedDescriptionKey,
              reason, NSLocalizedFailureReasonErrorKey,
              nil];
    return [NSError errorWithDomain:VZErrorDomain code:code userInfo:info];
}

void VZFakeReset(void)
{
    ensure_store();
    [lock lock];
    NSArray *old_creations = [creations copy];
    NSArray *old_calls = [calls copy];
    [creations removeAllObjects];
    [calls removeAllObjects];
    default_host();
    [lock unlock];
    VZFakeResetInstallation();
    VZFakeResetSockets();
    // Released outside the lock: deallocating objects take it again.
    [old_creations release];
    [old_calls release];
}

NSArray *VZFakeCreationLog(void)
{
    ensure_store();
    [lock lock];
    NSArray *copy = [[creations copy] autorelease];
    [lock unlock];
    return copy;
}

NSArray *VZFakeCallLog(void)
{
    ensure_store();
    [lock lock];
    NSArray *copy = [[calls copy] autorelease];
    [lock unlock];
    return copy;
}

static id snapshot_value(id value);

static id snapshot_object(id object)
{
    if ([object isKindOfClass:[VZMACAddress class]])
        return [(VZMACAddress *)object string];
    NSDictionary *table = VZFakeProperties(object);
    if (!table)
        return [NSString stringWithFormat:@"<%@>", NSStringFromClass([object class])];
    NSMutableDictionary *out = [NSMutableDictionary dictionary];
    [out setObject:NSStringFromClass([object class]) forKey:@"class"];
    for (NSString *key in table) {
        id v = [table objectForKey:key];
        if ([key isEqualToString:initializer_key])
            [out setObject:v forKey:@"initializer"];
        else if ([key hasPrefix:@"@"])
            continue;  // private bookkeeping (queue, delegate)
        else
            [out setObject:snapshot_value(v) forKey:key];
    }
    if ([object isKindOfClass:[VZVirtioConsolePortConfigurationArray class]]) {
        // The ports are keyed by NSNumber; snapshots use string keys.
        NSDictionary *ports = [table objectForKey:@"ports"];
        NSMutableDictionary *byIndex = [NSMutableDictionary dictionary];
        for (NSNumber *index in ports)
            [byIndex setObject:snapshot_value([ports objectForKey:index]) forKey:[index stringValue]];
        [out setObject:byIndex forKey:@"ports"];
        [out setObject:[NSNumber numberWithUnsignedInt:[(VZVirtioConsolePortConfigurationArray *)object maximumPortCount]]
                forKey:@"maximumPortCount"];
    }
    return out;
}

static id snapshot_value(id value)
{
    if (!value || value == [NSNull null])
        return [NSNull null];
    if ([value isKindOfClass:[NSString class]] || [value isKindOfClass:[NSNumber class]])
        return value;
    if ([value isKindOfClass:[NSURL class]])
        return [(NSURL *)value path];
    if ([value isKindOfClass:[NSData class]])
        return [NSDictionary dictionaryWithObject:[NSNumber numberWithUnsignedInteger:[(NSData *)value length]] forKey:@"bytes"];
    if ([value isKindOfClass:[NSFileHandle class]])
        return [NSDictionary dictionaryWithObject:[NSNumber numberWithInt:[(NSFileHandle *)value fileDescriptor]] forKey:@"fd"];
    if ([value isKindOfClass:[NSUUID class]])
        return [(NSUUID *)value UUIDString];
    if ([value isKindOfClass:[NSArray class]]) {
        NSMutableArray *out = [NSMutableArray array];
        for (id element in (NSArray *)value)
            [out addObject:snapshot_value(element)];
        return out;
    }
    if ([value isKindOfClass:[NSDictionary class]]) {
        NSMutableDictionary *out = [NSMutableDictionary dictionary];
        for (id key in (NSDictionary *)value)
            [out setObject:snapshot_value([(NSDictionary *)value objectForKey:key]) forKey:[key description]];
        return out;
    }
    return snapshot_object(value);
}

id VZFakeSnapshot(id object)
{
    return snapshot_value(object);
}

// ---- Host settings ------------------------------------------------------------------------------

BOOL VZModelOperatingSystemAtLeast(NSInteger majorVersion)
{
    return VZFakeHostSettings()->osMajor >= majorVersion;
}

void VZFakeSetHostOperatingSystemVersion(NSInteger major) { VZFakeHostSettings()->osMajor = major; }

void VZFakeSetHostCPUBounds(NSUInteger minimum, NSUInteger maximum)
{
    VZFakeHostSettings()->minCPU = minimum;
    VZFakeHostSettings()->maxCPU = maximum;
}

void VZFakeSetHostMemoryBounds(uint64_t minimum, uint64_t maximum)
{
    VZFakeHostSettings()->minMemory = minimum;
    VZFakeHostSettings()->maxMemory = maximum;
}

void VZFakeSetHardwareModelSupported(BOOL supported) { VZFakeHostSettings()->hardwareModelSupported = supported; }
void VZFakeSetRosettaAvailability(NSInteger availability) { VZFakeHostSettings()->rosettaAvailability = availability; }
void VZFakeSetVirtualizationSupported(BOOL supported) { VZFakeHostSettings()->virtualizationSupported = supported; }
void VZFakeSetGuestIgnoresStopRequests(BOOL ignores) { VZFakeHostSettings()->guestIgnoresStopRequests = ignores; }
void VZFakeSetNestedVirtualizationSupported(BOOL supported) { VZFakeHostSettings()->nestedVirtualizationSupported = supported; }
void VZFakeSetVirtualizationEntitlement(BOOL entitled) { VZFakeHostSettings()->entitled = entitled; }
