#import "view.h"

#include <vzkit/bridge/vz/objc_bridge.h>

void vzkit_window_configure_view(VZVirtualMachineView* view, VZVirtualMachine* vm) {
  view.virtualMachine = vm;
  view.capturesSystemKeys = YES;
#if VZKIT_SDK_AT_LEAST(14)
  if (VZKIT_OS_AT_LEAST(14)) {
    view.automaticallyReconfiguresDisplay = YES;
  }
#endif
}
