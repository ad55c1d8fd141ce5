#include "plugin_guard.hpp"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace vzkit::kernel::detail {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP};

// What the current thread is calling: t_who "plugin 'x'", t_where "its validate hook", t_file.
// Written before a call, read by the signal and exit handlers on the same thread.
thread_local bool t_active = false;
thread_local char t_who[512];

struct sigaction g_previous[NSIG];
// $VZKIT_PLUGIN_TIMEOUT (seconds) overrides the default for every call and scan.
long long initial_limit_ms(long long fallback) {
  const char* env = std::getenv("VZKIT_PLUGIN_TIMEOUT");
  if (!env || !*env) return fallback;
  char* end = nullptr;
  const double seconds = std::strtod(env, &end);
  return end && *end == 0 && seconds > 0 && seconds < 1e6 ? static_cast<long long>(seconds * 1000) : fallback;
}
std::atomic<long long> g_limit_ms{initial_limit_ms(60000)};
std::atomic<bool> g_enabled{true};

// One slot per thread that calls plugins: the watchdog thread reads the deadlines.
struct Slot {
  std::atomic<long long> deadline_ns{0};  // 0: no call under way
  char who[512];
};
constexpr std::size_t kSlots = 64;
std::array<Slot, kSlots> g_slots;
std::atomic<std::size_t> g_next_slot{0};
thread_local Slot* t_slot = nullptr;

// The three parts of a "who" text, kept as "plugin 'x'\0its validate hook\0file\0".
const char* part(const char* who, int n) {
  while (n-- > 0) who += std::strlen(who) + 1;
  return who;
}

void say(const char* a, const char* b = "", const char* c = "") {
  for (const char* s : {a, b, c}) {
    std::size_t n = std::strlen(s);
    while (n > 0) {
      const ssize_t w = ::write(2, s, n);
      if (w <= 0) return;
      s += w;
      n -= static_cast<std::size_t>(w);
    }
  }
}

void on_signal(int sig, siginfo_t*, void*) {
  if (!t_active) {
    // Not inside plugin code: behave as before vzkit looked.
    ::sigaction(sig, &g_previous[sig], nullptr);
    ::raise(sig);
    return;
  }
  char number[16];
  std::snprintf(number, sizeof number, "%d", sig);  // not async-signal-safe in theory; formats an int
  const char* name = ::strsignal(sig);
  say("vzkit: ", part(t_who, 0), " crashed in ");
  say(part(t_who, 1), " (signal ", number);
  say(": ", name ? name : "?", "); the command stops without a result\n");
  say("  hint: report it to the plugin's author, or take ", part(t_who, 2), " off the plugin path\n");
  ::_exit(1);
}

void on_exit_call() {
  if (!t_active) return;
  say("vzkit: ", part(t_who, 0), " called exit() in ");
  say(part(t_who, 1), "; the command stops without a result\n");
  say("  hint: report it to the plugin's author, or take ", part(t_who, 2), " off the plugin path\n");
  ::_exit(1);
}

void watchdog() {
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const long long now = Clock::now().time_since_epoch().count();
    const std::size_t used = std::min(g_next_slot.load(), kSlots);
    for (std::size_t i = 0; i < used; ++i) {
      const long long deadline = g_slots[i].deadline_ns.load(std::memory_order_acquire);
      if (deadline == 0 || now < deadline) continue;
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%g", static_cast<double>(g_limit_ms.load()) / 1000);
      say("vzkit: ", part(g_slots[i].who, 0), " did not return from ");
      say(part(g_slots[i].who, 1), " within ", seconds);
      say(" s; the command stops without a result\n");
      say("  hint: report it to the plugin's author, or take ", part(g_slots[i].who, 2), " off the plugin path\n");
      ::_exit(1);
    }
  }
}

// A stack of its own for the handler on each thread that calls plugins, so that a plugin that
// overflows the stack is reported too. It is freed when the thread ends. A thread that has one
// already (a sanitizer's runtime installs its own) keeps it.
struct AltStack {
  void* memory = nullptr;
  AltStack() {
    stack_t current{};
    if (::sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
    stack_t ss{};
    ss.ss_size = 64 * 1024;
    ss.ss_sp = std::malloc(ss.ss_size);
    if (ss.ss_sp && ::sigaltstack(&ss, nullptr) == 0) memory = ss.ss_sp;
    else std::free(ss.ss_sp);
  }
  ~AltStack() {
    if (!memory) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    ::sigaltstack(&off, nullptr);
    std::free(memory);
  }
  AltStack(const AltStack&) = delete;
  AltStack& operator=(const AltStack&) = delete;
};

void install_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (int sig : kSignals) ::sigaction(sig, &sa, &g_previous[sig]);
    std::atexit(&on_exit_call);
    std::thread(&watchdog).detach();
  });
  thread_local AltStack alt_stack;
  (void)alt_stack;
  if (!t_slot) {
    const std::size_t i = g_next_slot.fetch_add(1);
    if (i < kSlots) t_slot = &g_slots[i];
  }
}

}  // namespace

HookGuard::HookGuard(const std::string& plugin, const std::filesystem::path& file, const char* hook)
    : m_had_previous(t_active), m_previous_deadline(0) {
  if (!g_enabled) {
    m_had_previous = false;
    m_enabled = false;
    return;
  }
  install_once();
  if (m_had_previous) std::memcpy(m_previous, t_who, sizeof t_who);
  std::string who = "plugin '" + plugin + "'";
  who += '\0';
  who += std::string("its ") + hook + (std::strcmp(hook, "entry") == 0 ? " point" : " hook");
  who += '\0';
  who += file.string();
  who.resize(std::min(who.size(), sizeof t_who - 2));
  who += '\0';
  who += '\0';  // three parts, even when cut short
  std::memcpy(t_who, who.data(), std::min(who.size(), sizeof t_who));
  t_active = true;
  if (t_slot) {
    std::memcpy(t_slot->who, t_who, sizeof t_who);
    const auto deadline = Clock::now() + std::chrono::milliseconds(g_limit_ms.load());
    m_previous_deadline = t_slot->deadline_ns.load();
    t_slot->deadline_ns.store(deadline.time_since_epoch().count(), std::memory_order_release);
  }
}

HookGuard::~HookGuard() {
  if (!m_enabled) return;
  if (t_slot) t_slot->deadline_ns.store(m_previous_deadline, std::memory_order_release);
  if (m_had_previous) {
    std::memcpy(t_who, m_previous, sizeof t_who);
    if (t_slot) std::memcpy(t_slot->who, t_who, sizeof t_who);
  }
  t_active = m_had_previous;
}

std::chrono::milliseconds scan_time_limit() { return std::chrono::milliseconds(initial_limit_ms(10000)); }

void disable_hook_guards() { g_enabled = false; }

void set_hook_time_limit(std::chrono::milliseconds limit) { g_limit_ms = limit.count(); }
std::chrono::milliseconds hook_time_limit() { return std::chrono::milliseconds(g_limit_ms.load()); }

}  // namespace vzkit::kernel::detail
