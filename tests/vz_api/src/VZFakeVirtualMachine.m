// The recording fake's VZVirtualMachine: VZ's state machine without a guest. Every call must be
// made on the VM's queue (as the framework requires; a call from elsewhere raises), completion
// handlers and delegate calls arrive on that queue, transitional states (Starting, Pausing, ...)
// are visible between the call and its completion.
#import "VZFakeInternal.h"

@implementation VZNetworkDevice
FAKE_ROOT_METHODS
FAKE_STRONG(VZNetworkDeviceAttachment *, attachment, setAttachment, @"attachment")
@end

@implementation VZVirtualMachineView
FAKE_ROOT_METHODS
- (instancetype)init
{
    self = [super init];
    VZFakeRecordCreation(self, "init", nil);
    return self;
}
FAKE_STRONG(VZVirtualMachine *, virtualMachine, setVirtualMachine, @"virtualMachine")
FAKE_BOOL(capturesSystemKeys, setCapturesSystemKeys, @"capturesSystemKeys")
FAKE_BOOL(automaticallyReconfiguresDisplay, setAutomaticallyReconfiguresDisplay, @"automaticallyReconfiguresDisplay")
@end

@implementation VZVirtualMachineStartOptions
FAKE_ROOT_METHODS
@end

@implementation VZMacOSVirtualMachineStartOptions
FAKE_BOOL(startUpFromMacOSRecovery, setStartUpFromMacOSRecovery, @"startUpFromMacOSRecovery")
@end

typedef void (^Completion)(NSError *);

@interface VZVirtualMachine (VZFakePrivate)
- (dispatch_queue_t)queue;
- (void)checkQueue:(const char *)selector;
- (void)startNow:(void (^)(NSError *))completionHandler;
- (void)setStateValue:(VZVirtualMachineState)state;
- (void)later:(dispatch_block_t)body;
- (void)rejectWith:(Completion)completionHandler;
- (void)transition:(VZVirtualMachineState)transitional to:(VZVirtualMachineState)final completion:(Completion)completionHandler;
- (void)guestPowersOff;
- (void)failWith:(NSError *)error;
@end

@implementation VZVirtualMachine

+ (BOOL)isSupported
{
    return VZFakeHostSettings()->virtualizationSupported;
}

- (instancetype)initWithConfiguration:(VZVirtualMachineConfiguration *)configuration
{
    return [self initWithConfiguration:configuration queue:dispatch_get_main_queue()];
}

- (instancetype)initWithConfiguration:(VZVirtualMachineConfiguration *)configuration queue:(dispatch_queue_t)queue
{
    self = [super init];
    // The framework copies the configuration: later edits do not reach a created VM.
    VZVirtualMachineConfiguration *copy = [configuration copy];
    VZFakeSet(self, @"configuration", copy);
    [copy release];
    dispatch_retain(queue);
    VZFakeSet(self, @"@queue", [NSValue valueWithPointer:queue]);
    // The VM recognises its own queue by a queue-specific value keyed by itself.
    dispatch_queue_set_specific(queue, self, self, NULL);
    [self setStateValue:VZVirtualMachineStateStopped];
    VZFakeRecordCreation(self, "initWithConfiguration:queue:", [NSArray arrayWithObject:configuration]);
    return self;
}

- (void)dealloc
{
    dispatch_queue_t queue = [self queue];
    dispatch_queue_set_specific(queue, self, NULL, NULL);
    dispatch_release(queue);
    VZFakeForget(self);
    [super dealloc];
}

- (dispatch_queue_t)queue
{
    return (dispatch_queue_t)[(NSValue *)VZFakeGet(self, @"@queue") pointerValue];
}

- (void)checkQueue:(const char *)selector
{
    if (dispatch_get_specific(self) != self)
        [NSException raise:NSInternalInconsistencyException
                    format:@"-[VZVirtualMachine %s] must be called on the virtual machine's queue", selector];
}

- (void)setStateValue:(VZVirtualMachineState)state
{
    VZFakeSet(self, @"state", [NSNumber numberWithInteger:state]);
}

- (VZVirtualMachineState)state
{
    return (VZVirtualMachineState)[VZFakeGet(self, @"state") integerValue];
}

- (id<VZVirtualMachineDelegate>)delegate
{
    return (id<VZVirtualMachineDelegate>)[(NSValue *)VZFakeGet(self, @"@delegate") pointerValue];
}

- (void)setDelegate:(id<VZVirtualMachineDelegate>)delegate
{
    // weak: not retained (GCC's runtime has no zeroing weak references; the owner clears it).
    VZFakeSet(self, @"@delegate", delegate ? [NSValue valueWithPointer:(const void *)delegate] : nil);
}

- (BOOL)canStart
{
    VZVirtualMachineState s = [self state];
    return s == VZVirtualMachineStateStopped || s == VZVirtualMachineStateError;
}
- (BOOL)canStop
{
    VZVirtualMachineState s = [self state];
    return s == VZVirtualMachineStateRunning || s == VZVirtualMachineStatePaused;
}
- (BOOL)canPause { return [self state] == VZVirtualMachineStateRunning; }
- (BOOL)canResume { return [self state] == VZVirtualMachineStatePaused; }
- (BOOL)canRequestStop { return [self state] == VZVirtualMachineStateRunning; }

/// Runs `body` later on the VM's queue, keeping the VM alive until then.
- (void)later:(dispatch_block_t)body
{
    [self retain];
    dispatch_async([self queue], ^{
        body();
        [self release];
    });
}

- (void)rejectWith:(Completion)completionHandler
{
    Completion handler = Block_copy(completionHandler);
    [self later:^{
        handler(VZFakeError(VZErrorInvalidVirtualMachineStateTransition, @"Invalid virtual machine state transition."));
        Block_release(handler);
    }];
}

/// Moves to `transitional` now and to `final` on the queue, then calls the handler.
- (void)transition:(VZVirtualMachineState)transitional
                to:(VZVirtualMachineState)final
        completion:(Completion)completionHandler
{
    [self setStateValue:transitional];
    Completion handler = Block_copy(completionHandler);
    [self later:^{
        [self setStateValue:final];
        handler(nil);
        Block_release(handler);
    }];
}

- (void)startWithCompletionHandler:(void (^)(NSError *))completionHandler
{
    [self checkQueue:"startWithCompletionHandler:"];
    VZFakeRecordCall(self, "startWithCompletionHandler:", [self state]);
    [self startNow:completionHandler];
}

- (void)startNow:(void (^)(NSError *))completionHandler
{
    if (![self canStart]) {
        [self rejectWith:completionHandler];
        return;
    }
    NSError *invalid = nil;
    if (![(VZVirtualMachineConfiguration *)VZFakeGet(self, @"configuration") validateWithError:&invalid]) {
        [self setStateValue:VZVirtualMachineStateStarting];
        Completion handler = Block_copy(completionHandler);
        NSError *failure = [invalid retain];
        [self later:^{
            [self setStateValue:VZVirtualMachineStateError];
            handler(failure);
            [failure release];
            Block_release(handler);
        }];
        return;
    }
    [self transition:VZVirtualMachineStateStarting to:VZVirtualMachineStateRunning completion:completionHandler];
}

- (void)startWithOptions:(VZVirtualMachineStartOptions *)options completionHandler:(void (^)(NSError *))completionHandler
{
    [self checkQueue:"startWithOptions:completionHandler:"];
    VZFakeRecordCall(self, "startWithOptions:completionHandler:", [self state]);
    // UNCONFIRMED: how VZ refuses Mac start options for a VM that is not on the Mac platform.
    if ([options isKindOfClass:[VZMacOSVirtualMachineStartOptions class]] &&
        ![[(VZVirtualMachineConfiguration *)VZFakeGet(self, @"configuration") platform]
            isKindOfClass:[VZMacPlatformConfiguration class]])
        [NSException raise:NSInvalidArgumentException format:@"macOS start options need a macOS virtual machine."];
    VZFakeSet(self, @"startOptions", [[options copy] autorelease]);
    [self startNow:completionHandler];
}

- (void)stopWithCompletionHandler:(void (^)(NSError *))completionHandler
{
    [self checkQueue:"stopWithCompletionHandler:"];
    VZFakeRecordCall(self, "stopWithCompletionHandler:", [self state]);
    if (![self canStop]) {
        [self rejectWith:completionHandler];
        return;
    }
    [self transition:VZVirtualMachineStateStopping to:VZVirtualMachineStateStopped completion:completionHandler];
}

- (void)pauseWithCompletionHandler:(void (^)(NSError *))completionHandler
{
    [self checkQueue:"pauseWithCompletionHandler:"];
    VZFakeRecordCall(self, "pauseWithCompletionHandler:", [self state]);
    if (![self canPause]) {
        [self rejectWith:completionHandler];
        return;
    }
    [self transition:VZVirtualMachineStatePausing to:VZVirtualMachineStatePaused completion:completionHandler];
}

- (void)resumeWithCompletionHandler:(void (^)(NSError *))completionHandler
{
    [self checkQueue:"resumeWithCompletionHandler:"];
    VZFakeRecordCall(self, "resumeWithCompletionHandler:", [self state]);
    if (![self canResume]) {
        [self rejectWith:completionHandler];
        return;
    }
    [self transition:VZVirtualMachineStateResuming to:VZVirtualMachineStateRunning completion:completionHandler];
}

- (BOOL)requestStopWithError:(NSError **)error
{
    [self checkQueue:"requestStopWithError:"];
    VZFakeRecordCall(self, "requestStopWithError:", [self state]);
    if (![self canRequestStop]) {
        if (error)
            *error = VZFakeError(VZErrorInvalidVirtualMachineStateTransition, @"Invalid virtual machine state transition.");
        return NO;
    }
    if (!VZFakeHostSettings()->guestIgnoresStopRequests)
        [self guestPowersOff];
    return YES;
}

/// The fake guest shuts down: the VM stops, then the delegate hears of it.
- (void)guestPowersOff
{
    [self later:^{
        if ([self state] != VZVirtualMachineStateRunning && [self state] != VZVirtualMachineStatePaused)
            return;
        [self setStateValue:VZVirtualMachineStateStopped];
        id<VZVirtualMachineDelegate> delegate = [self delegate];
        if ([delegate respondsToSelector:@selector(guestDidStopVirtualMachine:)])
            [delegate guestDidStopVirtualMachine:self];
    }];
}

- (void)failWith:(NSError *)error
{
    [error retain];
    [self later:^{
        [self setStateValue:VZVirtualMachineStateError];
        id<VZVirtualMachineDelegate> delegate = [self delegate];
        if ([delegate respondsToSelector:@selector(virtualMachine:didStopWithError:)])
            [delegate virtualMachine:self didStopWithError:error];
        [error release];
    }];
}

@end

void VZFakeVirtualMachineFail(id virtualMachine, NSError *error)
{
    [(VZVirtualMachine *)virtualMachine failWith:error];
}

void VZFakeVirtualMachineGuestPowerOff(id virtualMachine)
{
    [(VZVirtualMachine *)virtualMachine guestPowersOff];
}
