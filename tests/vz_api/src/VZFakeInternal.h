// Shared by the recording fake's source files: the property table, the recorder and the host.
#pragma once

#define VZ_API_MODEL_IMPLEMENTATION 1
#import <Virtualization/Virtualization.h>
#import <VZFake/VZFake.h>

NS_ASSUME_NONNULL_BEGIN

/// A property value of `object` (autoreleased), or nil.
id _Nullable VZFakeGet(id object, NSString *key);
/// Sets (retains) or, with nil, removes a property value.
void VZFakeSet(id object, NSString *key, id _Nullable value);
/// Drops the property table of an object being deallocated.
void VZFakeForget(id object);
/// A new object of the same class with a copy of the property table (+1, for -copyWithZone:).
id VZFakeCopyObject(id object);
/// Records that `object` was made with `initializer`; nil arguments are recorded as NSNull.
void VZFakeRecordCreation(id object, const char *initializer, NSArray *_Nullable arguments);
/// Records a call: `receiver` is the VM or installer (or, for VZMacOSRestoreImage's class methods,
/// the URL argument or NSNull); `state` the VM's state then (-1 when there is no VM). The label of
/// the queue the caller runs on is recorded too.
void VZFakeRecordCall(id receiver, const char *selector, NSInteger state);
/// Clears the installation settings (VZFakeSetLatestRestoreImageURL, VZFakeSetInstallFailure).
void VZFakeResetInstallation(void);
/// Forgets the guest's socket listeners (VZFakeSetGuestSocketListener).
void VZFakeResetSockets(void);
/// An NSError in VZErrorDomain with Apple's failure-reason key set.
NSError *VZFakeError(NSInteger code, NSString *reason);
/// A nil-safe argument for VZFakeRecordCreation.
#define VZ_ARG(x) ((x) ? (id)(x) : (id)[NSNull null])

typedef struct {
    NSInteger osMajor;
    NSUInteger minCPU, maxCPU;
    uint64_t minMemory, maxMemory;
    BOOL hardwareModelSupported;
    NSInteger rosettaAvailability;
    BOOL virtualizationSupported;
    BOOL guestIgnoresStopRequests;
    BOOL nestedVirtualizationSupported;
    BOOL entitled;
} VZFakeHost;

VZFakeHost *VZFakeHostSettings(void);

NS_ASSUME_NONNULL_END

// Each root class of the fake forgets its properties on dealloc and copies them on -copy.
#define FAKE_ROOT_METHODS                                                                          \
    -(void)dealloc                                                                                 \
    {                                                                                              \
        VZFakeForget(self);                                                                        \
        [super dealloc];                                                                           \
    }                                                                                              \
    -(id)copyWithZone : (NSZone *)zone                                                             \
    {                                                                                              \
        (void)zone;                                                                                \
        return VZFakeCopyObject(self);                                                             \
    }

// Accessors over the property table. `key` is the ObjC property name.
#define FAKE_STRONG(type, getter, setter, key)                                                     \
    -(type)getter { return VZFakeGet(self, key); }                                                 \
    -(void)setter : (type)value { VZFakeSet(self, key, value); }
#define FAKE_COPY(type, getter, setter, key)                                                       \
    -(type)getter { return VZFakeGet(self, key); }                                                 \
    -(void)setter : (type)value { VZFakeSet(self, key, [[(id)value copy] autorelease]); }
#define FAKE_READONLY(type, getter, key)                                                           \
    -(type)getter { return VZFakeGet(self, key); }
#define FAKE_BOOL(getter, setter, key)                                                             \
    -(BOOL)getter { return [VZFakeGet(self, key) boolValue]; }                                     \
    -(void)setter : (BOOL)value { VZFakeSet(self, key, [NSNumber numberWithBool:value]); }
#define FAKE_BOOL_READONLY(getter, key)                                                            \
    -(BOOL)getter { return [VZFakeGet(self, key) boolValue]; }
#define FAKE_INTEGER(type, getter, setter, key)                                                    \
    -(type)getter { return (type)[VZFakeGet(self, key) longLongValue]; }                           \
    -(void)setter : (type)value { VZFakeSet(self, key, [NSNumber numberWithLongLong:(long long)value]); }
#define FAKE_INTEGER_READONLY(type, getter, key)                                                   \
    -(type)getter { return (type)[VZFakeGet(self, key) longLongValue]; }
#define FAKE_UNSIGNED(type, getter, setter, key)                                                   \
    -(type)getter { return (type)[VZFakeGet(self, key) unsignedLongLongValue]; }                   \
    -(void)setter : (type)value                                                                    \
    {                                                                                              \
        VZFakeSet(self, key, [NSNumber numberWithUnsignedLongLong:(unsigned long long)value]);     \
    }
