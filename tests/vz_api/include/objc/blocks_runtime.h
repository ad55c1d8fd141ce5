// Include shim for GNUstep on GCC's Objective-C runtime: GNUstep's headers ask for
// <objc/blocks_runtime.h> when the compiler has blocks (clang -fblocks), but GCC's runtime does
// not ship it. The blocks runtime (libblocksruntime-dev) declares the same functions in <Block.h>.
#pragma once
#include <Block.h>
