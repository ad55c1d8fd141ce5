// The window app's VZVirtualMachineView settings, apart from AppKit's window so that they are
// built and checked on Linux too (against the VZ model, where the view is a plain object).
#pragma once

#import <Virtualization/Virtualization.h>

/// Shows `vm` in `view`: system keys (Cmd-Tab, ...) go to the guest, and on macOS 14 and later
/// the guest's display follows the view's size (automaticallyReconfiguresDisplay; a macOS 14
/// guest, or a Linux guest whose driver supports it, resizes its screen with the window).
void vzkit_window_configure_view(VZVirtualMachineView* view, VZVirtualMachine* vm);
