#include "mvtag/core/dist/local_launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <thread>

#include "mvtag/core/base/error.h"

namespace mvtag {

namespace {

// The workers' pids, for the signal handler (async-signal-safe: plain array, kill()).
constexpr int kMaxWorkers = 1024;
pid_t g_workers[kMaxWorkers];
std::atomic<int> g_worker_count{0};
std::atomic<int> g_signals{0};

extern "C" void forward_signal(int sig) {
  g_signals.fetch_add(1);
  const int n = g_worker_count.load();
  for (int i = 0; i < n; ++i) {
    if (g_workers[i] > 0) kill(g_workers[i], sig);
  }
}

std::string status_text(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  return "ended";
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int free_local_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw_error(ErrorKind::Runtime, std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    close(fd);
    throw_error(ErrorKind::Runtime, std::string("cannot find a free port on 127.0.0.1: ") + std::strerror(err));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

int launch_local_workers(const LocalLaunch& launch) {
  if (launch.nproc < 1 || launch.nproc > kMaxWorkers) {
    throw_error(ErrorKind::Usage, "--nproc must be in [1, " + std::to_string(kMaxWorkers) + "]");
  }
  const std::string exe = launch.executable.empty() ? "/proc/self/exe" : launch.executable;
  const int port = launch.master_port > 0 ? launch.master_port : free_local_port();

  struct sigaction forward{}, old_int{}, old_term{};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  sigaction(SIGINT, &forward, &old_int);
  sigaction(SIGTERM, &forward, &old_term);

  const pid_t parent = getpid();
  g_worker_count.store(0);
  for (int rank = 0; rank < launch.nproc; ++rank) {
    const pid_t pid = fork();
    if (pid < 0) {
      const int err = errno;
      forward_signal(SIGTERM);
      throw_error(ErrorKind::Runtime, std::string("cannot start worker ") + std::to_string(rank) + ": " +
                                          std::strerror(err));
    }
    if (pid == 0) {
      // The worker: its own process group (terminal signals go to the launcher, which forwards them
      // once), dies with the launcher, the launch variables, then this program again.
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(1);
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      setenv("WORLD_SIZE", std::to_string(launch.nproc).c_str(), 1);
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(launch.nproc).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      setenv("MVTAG_NPROC", std::to_string(launch.nproc).c_str(), 1);
      unsetenv("TORCHELASTIC_USE_AGENT_STORE");
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(launch.argv0.empty() ? exe.c_str() : launch.argv0.c_str()));
      for (const auto& a : launch.args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(exe.c_str(), argv.data());
      std::fprintf(stderr, "mvtag: cannot run %s: %s\n", exe.c_str(), std::strerror(errno));
      _exit(127);
    }
    g_workers[rank] = pid;
    g_worker_count.store(rank + 1);
  }

  int result = 0;
  int running = launch.nproc;
  std::chrono::steady_clock::time_point deadline{};
  bool terminated = false;
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR) break;
    if (pid <= 0) {
      if (result != 0 && std::chrono::steady_clock::now() > deadline) {
        // The first failure was `grace` ago: stop the workers that still run, then kill them.
        const int sig = terminated ? SIGKILL : SIGTERM;
        std::cerr << (terminated ? "mvtag: killing the workers that still run\n"
                                 : "mvtag: the run failed; terminating the workers that still run\n");
        forward_signal(sig);
        terminated = true;
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    --running;
    int rank = -1;
    for (int i = 0; i < launch.nproc; ++i) {
      if (g_workers[i] == pid) {
        rank = i;
        g_workers[i] = 0;
      }
    }
    const bool interrupted = g_signals.load() > 0 && WIFEXITED(status) &&
                             (WEXITSTATUS(status) == 128 + SIGINT || WEXITSTATUS(status) == 128 + SIGTERM);
    if (exit_code_of(status) != 0 && !interrupted) {
      std::cerr << "mvtag: worker " << rank << " (pid " << pid << ") " << status_text(status) << "\n";
    }
    if (exit_code_of(status) != 0) {
      if (result == 0) {
        result = exit_code_of(status);
        deadline = std::chrono::steady_clock::now() + launch.grace;
      }
    }
  }
  g_worker_count.store(0);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return result;
}

}  // namespace mvtag
