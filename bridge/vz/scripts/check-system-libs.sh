#!/usr/bin/env bash
# Fails when a binary loads a shared library that is not the system's.
#
#   check-system-libs.sh BINARY...
#
# The signed VZ runners (vzkit-vz, vzkit-window) run under the hardened runtime, whose library
# validation refuses any library signed by another team, such as Homebrew's Boost: they must link
# nothing but the system (docs/vz.md). On macOS every `otool -L` entry must be under /System/ or
# /usr/lib/. On Linux (the build against the VZ model) every DT_NEEDED entry `readelf -d` lists
# must be one of the C and C++ runtimes, or GNUstep and its Objective-C and blocks runtimes, which
# stand in for the Mac's Foundation there.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 BINARY..." >&2
  exit 2
fi

# The Linux libraries that play the part of the Mac's /usr/lib and /System.
linux_system='^(ld-linux[-a-z0-9_.]*|libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s|libobjc|libgnustep-base|libBlocksRuntime|libdispatch)\.so(\.[0-9]+)*$'

status=0
for bin in "$@"; do
  if [ ! -f "$bin" ]; then
    echo "$bin: no such file" >&2
    status=1
    continue
  fi
  case "$(uname -s)" in
    Darwin)
      # The first line is the binary itself; every other line is "\tPATH (compatibility ...)".
      libs=$(otool -L "$bin" | tail -n +2 | sed -E 's/^[[:space:]]+//; s/ \(compatibility.*$//')
      bad=$(printf '%s\n' "$libs" | grep -Ev '^(/System/|/usr/lib/)' || true)
      ;;
    *)
      command -v readelf > /dev/null || { echo "$0: readelf (binutils) is needed" >&2; exit 2; }
      libs=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
      bad=$(printf '%s\n' "$libs" | grep -Ev "$linux_system" || true)
      ;;
  esac
  bad=$(printf '%s\n' "$bad" | sed '/^$/d')
  if [ -n "$bad" ]; then
    echo "$bin links libraries that are not the system's:" >&2
    printf '  %s\n' $bad >&2
    echo "  hint: link them statically into it (see VZKIT_SYSTEM_LIBS_ONLY in CMakeLists.txt); a hardened" >&2
    echo "        process refuses libraries signed by another team" >&2
    status=1
  else
    echo "$bin: only system libraries ($(printf '%s\n' "$libs" | sed '/^$/d' | xargs -n1 basename | tr '\n' ' '))"
  fi
done
exit $status
