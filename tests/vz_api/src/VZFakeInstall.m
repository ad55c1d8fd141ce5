// The recording fake's macOS installation: VZMacOSRestoreImage reads a small JSON stand-in for an
// IPSW (the format is in VZFake.h), VZMacOSConfigurationRequirements reports the stand-in's
// minimums, and VZMacOSInstaller runs a pretend installation on the VM's queue, advancing its
// NSProgress in steps. Raises where the framework's headers say it raises; completion handlers
// arrive where the headers say they do (an arbitrary thread for the restore image, the VM's queue
// for the installer).
#import "VZFakeInternal.h"

#include <pthread.h>
#include <unistd.h>

// ---- settings (VZFake.h) --------------------------------------------------------------------------

static pthread_mutex_t settings_lock = PTHREAD_MUTEX_INITIALIZER;
static NSURL *latest_url;
static NSError *install_failure;

void VZFakeSetLatestRestoreImageURL(NSURL *url)
{
    pthread_mutex_lock(&settings_lock);
    NSURL *old = latest_url;
    latest_url = [url copy];
    pthread_mutex_unlock(&settings_lock);
    [old release];
}

void VZFakeSetInstallFailure(NSError *error)
{
    pthread_mutex_lock(&settings_lock);
    NSError *old = install_failure;
    install_failure = [error retain];
    pthread_mutex_unlock(&settings_lock);
    [old release];
}

void VZFakeResetInstallation(void)
{
    VZFakeSetLatestRestoreImageURL(nil);
    VZFakeSetInstallFailure(nil);
}

static NSURL *current_latest_url(void)
{
    pthread_mutex_lock(&settings_lock);
    NSURL *url = [latest_url retain];
    pthread_mutex_unlock(&settings_lock);
    return [url autorelease];
}

static NSError *current_install_failure(void)
{
    pthread_mutex_lock(&settings_lock);
    NSError *error = [install_failure retain];
    pthread_mutex_unlock(&settings_lock);
    return [error autorelease];
}

// ---- the stand-in restore image -------------------------------------------------------------------

/// What the fake knows about a restore image: {"build_version", "os", "min_cpus", "min_memory",
/// "supported"} as parsed from a stand-in file.
typedef NSDictionary Facts;

/// The facts of the built-in stand-in (used for a "latest" image whose URL is not a local file).
static Facts *default_facts(void)
{
    return [NSDictionary dictionaryWithObjectsAndKeys:
        @"23A344", @"build_version",
        [NSArray arrayWithObjects:[NSNumber numberWithInt:14], [NSNumber numberWithInt:0], [NSNumber numberWithInt:0], nil], @"os",
        [NSNumber numberWithUnsignedInteger:2], @"min_cpus",
        [NSNumber numberWithUnsignedLongLong:4ull << 30], @"min_memory",
        [NSNumber numberWithBool:YES], @"supported",
        nil];
}

static BOOL is_number(id value)
{
    return [value isKindOfClass:[NSNumber class]];
}

/// Reads a stand-in restore image; nil with `reason` set when it is not one.
static Facts *read_facts(NSURL *url, NSString **reason, BOOL *unreadable)
{
    *unreadable = NO;
    NSData *data = [NSData dataWithContentsOfFile:[url path]];
    if (!data) {
        *unreadable = YES;
        *reason = [NSString stringWithFormat:@"The restore image at \"%@\" could not be read.", [url path]];
        return nil;
    }
    id parsed = [NSJSONSerialization JSONObjectWithData:data options:0 error:NULL];
    NSString *invalid = [NSString stringWithFormat:@"The file \"%@\" is not a valid restore image.", [url path]];
    if (![parsed isKindOfClass:[NSDictionary class]]) {
        *reason = invalid;
        return nil;
    }
    id build = [parsed objectForKey:@"build_version"];
    id os = [parsed objectForKey:@"os"];
    id cpus = [parsed objectForKey:@"min_cpus"];
    id memory = [parsed objectForKey:@"min_memory"];
    id supported = [parsed objectForKey:@"supported"];
    BOOL ok = [build isKindOfClass:[NSString class]] && [build length] > 0 && [os isKindOfClass:[NSArray class]] &&
              [os count] >= 1 && [os count] <= 3 && is_number(cpus) && [cpus unsignedIntegerValue] > 0 &&
              is_number(memory) && [memory unsignedLongLongValue] > 0 && is_number(supported);
    for (id part in (ok ? os : nil))
        ok = ok && is_number(part);
    if (!ok) {
        *reason = invalid;
        return nil;
    }
    return parsed;
}

@interface VZMacOSRestoreImage (VZFakePrivate)
- (instancetype)initWithFakeURL:(NSURL *)url facts:(Facts *)facts via:(const char *)selector;
@end

typedef void (^RestoreImageHandler)(VZMacOSRestoreImage *, NSError *);

/// Runs `body` on a thread of its own (the framework calls these handlers on an arbitrary thread).
static void elsewhere(dispatch_block_t body)
{
    dispatch_queue_t queue = dispatch_queue_create("org.vzkit.fake.restore-image", DISPATCH_QUEUE_SERIAL);
    dispatch_async(queue, body);
    dispatch_release(queue);  // the queue finishes the block first
}

@implementation VZMacOSConfigurationRequirements
FAKE_ROOT_METHODS
FAKE_READONLY(VZMacHardwareModel *, hardwareModel, @"hardwareModel")
FAKE_INTEGER_READONLY(NSUInteger, minimumSupportedCPUCount, @"minimumSupportedCPUCount")
- (uint64_t)minimumSupportedMemorySize
{
    return [VZFakeGet(self, @"minimumSupportedMemorySize") unsignedLongLongValue];
}
@end

@implementation VZMacOSRestoreImage
FAKE_ROOT_METHODS

- (instancetype)initWithFakeURL:(NSURL *)url facts:(Facts *)facts via:(const char *)selector
{
    self = [super init];
    NSString *build = [facts objectForKey:@"build_version"];
    VZFakeSet(self, @"URL", url);
    VZFakeSet(self, @"buildVersion", build);
    VZFakeSet(self, @"operatingSystemVersion", [facts objectForKey:@"os"]);
    VZFakeSet(self, @"supported", [facts objectForKey:@"supported"]);
    if ([[facts objectForKey:@"supported"] boolValue]) {
        // One hardware model per image; whether this host supports it is the host's setting
        // (VZFakeSetHardwareModelSupported).
        NSData *model_bytes = [[@"vzfake-hardware-model:" stringByAppendingString:build] dataUsingEncoding:NSUTF8StringEncoding];
        VZMacHardwareModel *model = [[VZMacHardwareModel alloc] initWithDataRepresentation:model_bytes];
        VZMacOSConfigurationRequirements *requirements = [[VZMacOSConfigurationRequirements alloc] init];
        VZFakeSet(requirements, @"hardwareModel", model);
        VZFakeSet(requirements, @"minimumSupportedCPUCount", [facts objectForKey:@"min_cpus"]);
        VZFakeSet(requirements, @"minimumSupportedMemorySize", [facts objectForKey:@"min_memory"]);
        VZFakeRecordCreation(requirements, "mostFeaturefulSupportedConfiguration", nil);
        VZFakeSet(self, @"mostFeaturefulSupportedConfiguration", requirements);
        [requirements release];
        [model release];
    }
    VZFakeRecordCreation(self, selector, [NSArray arrayWithObject:url]);
    return self;
}

+ (void)loadFileURL:(NSURL *)fileURL completionHandler:(void (^)(VZMacOSRestoreImage *, NSError *))completionHandler
{
    if (![fileURL isFileURL])
        [NSException raise:NSInvalidArgumentException
                    format:@"+[VZMacOSRestoreImage loadFileURL:completionHandler:] needs a file URL, not %@", fileURL];
    VZFakeRecordCall(fileURL, "loadFileURL:completionHandler:", -1);
    NSURL *url = [fileURL copy];
    RestoreImageHandler handler = Block_copy(completionHandler);
    elsewhere(^{
        NSString *reason = nil;
        BOOL unreadable = NO;
        Facts *facts = read_facts(url, &reason, &unreadable);
        if (facts) {
            VZMacOSRestoreImage *image = [[VZMacOSRestoreImage alloc] initWithFakeURL:url facts:facts via:"loadFileURL:completionHandler:"];
            handler(image, nil);
            [image release];
        } else {
            // UNCONFIRMED: the codes the framework uses for an unreadable and for an invalid image.
            handler(nil, VZFakeError(unreadable ? VZErrorRestoreImageLoadFailed : VZErrorInvalidRestoreImage, reason));
        }
        Block_release(handler);
        [url release];
    });
}

+ (void)fetchLatestSupportedWithCompletionHandler:(void (^)(VZMacOSRestoreImage *, NSError *))completionHandler
{
    VZFakeRecordCall([NSNull null], "fetchLatestSupportedWithCompletionHandler:", -1);
    NSURL *url = [current_latest_url() retain];
    RestoreImageHandler handler = Block_copy(completionHandler);
    elsewhere(^{
        if (!url) {
            handler(nil, VZFakeError(VZErrorRestoreImageCatalogLoadFailed, @"The restore image catalog failed to load."));
        } else {
            Facts *facts = default_facts();
            NSString *reason = nil;
            BOOL unreadable = NO;
            if ([url isFileURL])
                facts = read_facts(url, &reason, &unreadable);
            if (facts) {
                VZMacOSRestoreImage *image =
                    [[VZMacOSRestoreImage alloc] initWithFakeURL:url facts:facts via:"fetchLatestSupportedWithCompletionHandler:"];
                handler(image, nil);
                [image release];
            } else {
                handler(nil, VZFakeError(VZErrorInvalidRestoreImageCatalog, reason));
            }
        }
        Block_release(handler);
        [url release];
    });
}

FAKE_READONLY(NSURL *, URL, @"URL")
FAKE_READONLY(NSString *, buildVersion, @"buildVersion")
FAKE_BOOL_READONLY(isSupported, @"supported")
FAKE_READONLY(VZMacOSConfigurationRequirements *, mostFeaturefulSupportedConfiguration, @"mostFeaturefulSupportedConfiguration")

- (NSOperatingSystemVersion)operatingSystemVersion
{
    NSArray *parts = VZFakeGet(self, @"operatingSystemVersion");
    NSOperatingSystemVersion version = {0, 0, 0};
    NSUInteger n = [parts count];
    if (n > 0) version.majorVersion = [[parts objectAtIndex:0] integerValue];
    if (n > 1) version.minorVersion = [[parts objectAtIndex:1] integerValue];
    if (n > 2) version.patchVersion = [[parts objectAtIndex:2] integerValue];
    return version;
}

@end

// ---- the installer --------------------------------------------------------------------------------

/// Steps of the pretend installation (progress goes 1/kSteps at a time) and the pause between them.
static const int64_t kSteps = 4;
static const useconds_t kStepPause = 20000;

typedef void (^InstallHandler)(NSError *);

static dispatch_queue_t queue_of(VZVirtualMachine *vm)
{
    return (dispatch_queue_t)[(NSValue *)VZFakeGet(vm, @"@queue") pointerValue];
}

static void check_queue(VZVirtualMachine *vm, const char *selector)
{
    // The VM marks its queue with a queue-specific value keyed by itself (VZFakeVirtualMachine.m).
    if (dispatch_get_specific(vm) != vm)
        [NSException raise:NSInternalInconsistencyException
                    format:@"-[VZMacOSInstaller %s] must be called on the virtual machine's queue", selector];
}

@interface VZVirtualMachine (VZFakeInstallation)
- (void)setStateValue:(VZVirtualMachineState)state;
@end

@interface VZMacOSInstaller (VZFakePrivate)
- (void)step:(int64_t)done handler:(InstallHandler)handler failure:(NSError *)failure;
@end

@implementation VZMacOSInstaller
FAKE_ROOT_METHODS

- (instancetype)initWithVirtualMachine:(VZVirtualMachine *)virtualMachine restoreImageURL:(NSURL *)restoreImageFileURL
{
    check_queue(virtualMachine, "initWithVirtualMachine:restoreImageURL:");
    VZVirtualMachineConfiguration *configuration = VZFakeGet(virtualMachine, @"configuration");
    if (![[configuration platform] isKindOfClass:[VZMacPlatformConfiguration class]]) {
        [self release];
        [NSException raise:NSInvalidArgumentException format:@"The virtual machine platform must be macOS."];
    }
    if (![restoreImageFileURL isFileURL] ||
        ![[NSFileManager defaultManager] fileExistsAtPath:[restoreImageFileURL path]]) {
        [self release];
        [NSException raise:NSInvalidArgumentException
                    format:@"The restore image URL must be a file URL referring to a file on disk: %@", restoreImageFileURL];
    }
    self = [super init];
    VZFakeSet(self, @"virtualMachine", virtualMachine);
    VZFakeSet(self, @"restoreImageURL", [[restoreImageFileURL copy] autorelease]);
    VZFakeSet(self, @"progress", [NSProgress discreteProgressWithTotalUnitCount:kSteps]);
    VZFakeRecordCreation(self, "initWithVirtualMachine:restoreImageURL:",
                         [NSArray arrayWithObjects:virtualMachine, restoreImageFileURL, nil]);
    VZFakeRecordCall(self, "initWithVirtualMachine:restoreImageURL:", [virtualMachine state]);
    return self;
}

// VZ asserts queue affinity on its objects: the installer's progress object is fetched on the VM's
// queue (the NSProgress itself may then be read anywhere, as NSProgress is thread-safe).
- (NSProgress *)progress
{
    check_queue([self virtualMachine], "progress");
    return VZFakeGet(self, @"progress");
}
FAKE_READONLY(VZVirtualMachine *, virtualMachine, @"virtualMachine")
FAKE_READONLY(NSURL *, restoreImageURL, @"restoreImageURL")

- (void)installWithCompletionHandler:(void (^)(NSError *))completionHandler
{
    VZVirtualMachine *vm = [self virtualMachine];
    check_queue(vm, "installWithCompletionHandler:");
    VZFakeRecordCall(self, "installWithCompletionHandler:", [vm state]);
    if ([VZFakeGet(self, @"@started") boolValue])
        [NSException raise:NSInternalInconsistencyException
                    format:@"-[VZMacOSInstaller installWithCompletionHandler:] was called twice on the same installer"];
    VZFakeSet(self, @"@started", [NSNumber numberWithBool:YES]);
    InstallHandler handler = Block_copy(completionHandler);
    [self retain];  // until the handler has run
    if ([vm state] != VZVirtualMachineStateStopped) {
        dispatch_async(queue_of(vm), ^{
            handler(VZFakeError(VZErrorInvalidVirtualMachineState, @"The virtual machine must be stopped to install macOS."));
            Block_release(handler);
            [self release];
        });
        return;
    }
    // UNCONFIRMED: the installer boots the VM for the installation (the VM is Running meanwhile)
    // and leaves it Stopped when it ends, successfully or not.
    [vm setStateValue:VZVirtualMachineStateRunning];
    [self step:0 handler:handler failure:current_install_failure()];
}

/// One step of the installation on the VM's queue; `done` steps are behind us.
- (void)step:(int64_t)done handler:(InstallHandler)handler failure:(NSError *)failure
{
    [failure retain];
    dispatch_async(queue_of([self virtualMachine]), ^{
        usleep(kStepPause);
        NSProgress *progress = [self progress];
        NSError *outcome = nil;
        BOOL finished = YES;
        if ([progress isCancelled])
            outcome = VZFakeError(VZErrorOperationCancelled, @"The installation was cancelled.");
        else if (failure && done + 1 >= kSteps / 2)
            outcome = failure;  // fails halfway
        else {
            [progress setCompletedUnitCount:done + 1];
            finished = done + 1 >= kSteps;
        }
        if (finished) {
            [[self virtualMachine] setStateValue:VZVirtualMachineStateStopped];
            handler(outcome);
            Block_release(handler);
            [self release];
        } else {
            [self step:done + 1 handler:handler failure:failure];
        }
        [failure release];
    });
}

@end
