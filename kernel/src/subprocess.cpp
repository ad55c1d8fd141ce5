#include <vzkit/kernel/subprocess.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>

namespace vzkit::kernel {

// fork + exec rather than Boost.Process: each stream is inherited, captured or discarded as the
// caller decides at run time, the child dies with this process (PR_SET_PDEATHSIG, set between
// fork and exec), captures are bounded, and a timeout kills and reaps. Boost.Process v1 encodes
// every redirection in a type, so those run-time choices cost one launcher instantiation per
// combination (26 s of compilation for this one file); plain POSIX is shorter (docs/build.md).

using Clock = std::chrono::steady_clock;

namespace {

/// Ignores one signal in this process for its lifetime. Made only after the child started:
/// ignored signals stay ignored across exec, and the child must keep the default reactions.
class IgnoreSignal {
 public:
  explicit IgnoreSignal(int signal) : m_signal(signal) {
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(m_signal, &ign, &m_old);
  }
  ~IgnoreSignal() { ::sigaction(m_signal, &m_old, nullptr); }
  IgnoreSignal(const IgnoreSignal&) = delete;
  IgnoreSignal& operator=(const IgnoreSignal&) = delete;

 private:
  int m_signal;
  struct sigaction m_old {};
};

/// A file descriptor closed when it goes.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset();
    fd = std::exchange(o.fd, -1);
    return *this;
  }
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

struct Pipe {
  Fd read, write;
  bool open() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return false;
    read = Fd(p[0]);
    write = Fd(p[1]);
    return true;
  }
};

/// One captured stream: reads what is there, keeps at most `limit` bytes.
struct Capture {
  Fd fd;
  std::string text;
  bool truncated = false;
  /// Returns false at the end of the stream.
  bool drain(std::size_t limit) {
    char buffer[16384];
    for (;;) {
      const ssize_t n = ::read(fd.fd, buffer, sizeof buffer);
      if (n > 0) {
        const std::size_t room = limit - std::min(limit, text.size());
        const std::size_t keep = std::min(static_cast<std::size_t>(n), room);
        text.append(buffer, keep);
        truncated = truncated || keep < static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      fd.reset();  // end of stream, or an error that ends it
      return false;
    }
  }
};

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

std::string ChildResult::describe() const {
  if (!started) return "cannot run: " + start_error;
  if (timed_out) {
    const auto ms = timeout.count();
    return "no answer within " + (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms");
  }
  if (signal != 0) {
    const char* name = ::strsignal(signal);
    return "signal " + std::to_string(signal) + (name ? std::string(": ") + name : std::string());
  }
  return "exit status " + std::to_string(exit_code);
}

std::string find_program(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string dir = end > start ? dirs.substr(start, end - start) : ".";
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

ChildResult run_child(const std::vector<std::string>& argv, const ChildOptions& options) {
  ChildResult r;
  r.timeout = options.timeout.value_or(std::chrono::milliseconds(0));
  if (argv.empty()) {
    r.start_error = "no program given";
    return r;
  }
  const std::string exe = find_program(argv[0]);
  if (exe.empty()) {
    r.start_error = "'" + argv[0] + "' is not on PATH";
    return r;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  Pipe out, err, in, exec_error;
  const bool ok = (options.out != Output::capture || out.open()) && (options.err != Output::capture || err.open()) &&
                  (!options.input || in.open()) && exec_error.open();
  if (!ok) {
    r.start_error = std::string("cannot make a pipe: ") + std::strerror(errno);
    return r;
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    r.start_error = std::string("cannot start a process: ") + std::strerror(errno);
    return r;
  }
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
#ifdef __linux__
    if (options.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
    }
#endif
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    auto place = [](Output how, int pipe_end, int target) {
      if (how == Output::capture) {
        ::dup2(pipe_end, target);
      } else if (how == Output::discard) {
        const int null = ::open("/dev/null", O_WRONLY);
        if (null >= 0) ::dup2(null, target);
      }
    };
    if (options.input) {
      ::dup2(in.read.fd, 0);
    } else {
      const int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) ::dup2(null, 0);
    }
    place(options.out, out.write.fd, 1);
    place(options.err, err.write.fd, 2);
    ::execv(exe.c_str(), args.data());
    const int e = errno;
    (void)!::write(exec_error.write.fd, &e, sizeof e);
    ::_exit(127);
  }

  // The parent.
  out.write.reset();
  err.write.reset();
  in.read.reset();
  exec_error.write.reset();
  int exec_errno = 0;
  ssize_t got;
  do got = ::read(exec_error.read.fd, &exec_errno, sizeof exec_errno);
  while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    ::waitpid(pid, nullptr, 0);
    r.start_error = "cannot run " + exe + ": " + std::strerror(exec_errno);
    return r;
  }
  r.started = true;
  std::optional<IgnoreSignal> quiet_int, quiet_term;
  if (options.ignore_interrupts) {
    quiet_int.emplace(SIGINT);
    quiet_term.emplace(SIGTERM);
  }
  // A child that exits without reading its input must not end this process with SIGPIPE.
  std::optional<IgnoreSignal> no_sigpipe;
  if (options.input) no_sigpipe.emplace(SIGPIPE);

  Capture cap_out, cap_err;
  cap_out.fd = std::move(out.read);
  cap_err.fd = std::move(err.read);
  for (int fd : {cap_out.fd.fd, cap_err.fd.fd, in.write.fd})
    if (fd >= 0) set_nonblocking(fd);
  std::string_view pending = options.input ? std::string_view(*options.input) : std::string_view();
  if (pending.empty()) in.write.reset();

  const Clock::time_point deadline = options.timeout ? Clock::now() + *options.timeout : Clock::time_point::max();
  std::optional<Clock::time_point> exited_at;
  int status = 0;
  for (;;) {
    if (!exited_at) {
      pid_t w;
      do w = ::waitpid(pid, &status, WNOHANG);
      while (w < 0 && errno == EINTR);
      if (w == pid) exited_at = Clock::now();
    }
    const bool streams_open = cap_out.fd.fd >= 0 || cap_err.fd.fd >= 0;
    // Once it exited, what it wrote is read to the end, unless a grandchild keeps the pipes open.
    if (exited_at && (!streams_open || Clock::now() - *exited_at > std::chrono::milliseconds(200))) break;
    if (!exited_at && Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.timed_out = true;
      break;
    }
    std::vector<pollfd> fds;
    for (int fd : {cap_out.fd.fd, cap_err.fd.fd}) if (fd >= 0) fds.push_back({fd, POLLIN, 0});
    if (in.write.fd >= 0) fds.push_back({in.write.fd, POLLOUT, 0});
    // Its exit is looked at often while nothing flows; poll() returns at once when something does.
    int wait_ms = streams_open ? 20 : 1;
    if (options.timeout && !exited_at)
      wait_ms = static_cast<int>(std::clamp<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count(), 0, wait_ms));
    ::poll(fds.data(), fds.size(), wait_ms);
    if (cap_out.fd.fd >= 0) cap_out.drain(options.max_capture);
    if (cap_err.fd.fd >= 0) cap_err.drain(options.max_capture);
    if (in.write.fd >= 0) {
      const ssize_t n = ::write(in.write.fd, pending.data(), pending.size());
      if (n > 0) pending.remove_prefix(static_cast<std::size_t>(n));
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || pending.empty()) in.write.reset();
    }
  }

  if (r.timed_out) {
    r.signal = SIGKILL;
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  } else if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  }
  r.out = std::move(cap_out.text);
  r.err = std::move(cap_err.text);
  r.truncated = cap_out.truncated || cap_err.truncated;
  return r;
}

}  // namespace vzkit::kernel
