// vzkit-plugin-scanner: the child process in which vzkit loads plugin files to learn what they
// offer, so that a broken file cannot take the process that asked down with it.
#include <vzkit/kernel/plugin_host.hpp>

int main(int argc, char** argv) { return vzkit::kernel::plugin_scanner_main(argc, argv); }
