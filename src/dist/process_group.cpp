#include "mvtag/dist/process_group.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include <spdlog/spdlog.h>
#include <torch/version.h>

#include "mvtag/core/base/error.h"

// MVTAG_WITH_GLOO: CMake found the Gloo headers. USE_C10D_GLOO / USE_C10D_NCCL: the torch target
// says LibTorch was built with that backend (its INTERFACE_COMPILE_DEFINITIONS).
#if defined(MVTAG_WITH_GLOO) && defined(USE_C10D_GLOO)
#define MVTAG_DIST 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(USE_C10D_NCCL)
#define MVTAG_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

namespace mvtag {

namespace {

std::string seconds_text(const DistOptions& o) { return std::to_string(o.timeout.count()) + " s"; }

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr == "::1" || addr.rfind("127.", 0) == 0;
}

}  // namespace

void ProcessGroup::Pending::wait() {
  if (!wait_) return;
  const std::function<void()> w = std::move(wait_);
  wait_ = nullptr;
  w();
}

#if MVTAG_DIST

// The adapter: LibTorch 1.13's backends derive from c10d::ProcessGroup, 2.x's from c10d::Backend;
// the collectives used here have the same signatures in both.
#if TORCH_VERSION_MAJOR >= 2
using BackendBase = c10d::Backend;
#else
using BackendBase = c10d::ProcessGroup;
#endif

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<BackendBase> backend;
  std::string name;
};

bool distributed_available() { return true; }

ProcessGroup::ProcessGroup(LaunchEnv env, DistOptions options)
    : env_(std::move(env)), options_(options), impl_(std::make_unique<Impl>()) {}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::fail(const std::string& what, const std::exception& e) const {
  std::string detail = e.what();
  // c10::Error appends a C++ backtrace: the first line is the message.
  if (const auto nl = detail.find('\n'); nl != std::string::npos) detail.resize(nl);
  throw_error(ErrorKind::Runtime,
              "rank " + std::to_string(env_.rank) + "/" + std::to_string(env_.world_size) + ": " + what +
                  " failed: " + detail + " (another rank has probably exited or stopped answering; every rank " +
                  "gives up after --dist_timeout " + seconds_text(options_) + ")");
}

std::unique_ptr<ProcessGroup> ProcessGroup::join(const LaunchEnv& env, const DistOptions& options,
                                                 const torch::Device& device) {
  if (!env.distributed()) throw std::logic_error("ProcessGroup::join: a single process");
  std::unique_ptr<ProcessGroup> group(new ProcessGroup(env, options));
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout);

  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(env.master_port);
  so.isServer = env.rank == 0 && !env.agent_store;
  if (!env.agent_store) so.numWorkers = static_cast<std::size_t>(env.world_size);  // (optional in 1.13 and 2.x)
  so.waitWorkers = false;  // the backend's rendezvous below waits for every rank, with the timeout
  so.timeout = timeout;
  try {
    c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    if (env.agent_store) store = c10::make_intrusive<c10d::PrefixStore>(env.store_prefix, store);
    group->impl_->store = c10::make_intrusive<c10d::PrefixStore>("mvtag", store);
  } catch (const std::exception& e) {
    std::string detail = e.what();
    if (const auto nl = detail.find('\n'); nl != std::string::npos) detail.resize(nl);
    Location at;
    at.key = "MASTER_ADDR:MASTER_PORT " + where;
    if (so.isServer) {
      throw_error(ErrorKind::Runtime,
                  "rank 0 cannot serve the rendezvous store (is the port in use by another program or another "
                  "run? choose another MASTER_PORT): " + detail,
                  at);
    }
    throw_error(ErrorKind::Runtime,
                "rank " + std::to_string(env.rank) + " cannot reach the rendezvous store of rank 0 within " +
                    seconds_text(options) + " (is MASTER_ADDR right, and rank 0 started?): " + detail,
                at);
  }

  try {
#if MVTAG_NCCL
    if (device.is_cuda()) {
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      group->impl_->backend =
          c10::make_intrusive<c10d::ProcessGroupNCCL>(group->impl_->store, env.rank, env.world_size, o);
      group->impl_->name = "nccl";
    }
#else
    if (device.is_cuda()) {
      throw_error(ErrorKind::Usage,
                  "this build has no NCCL: a data-parallel run on CUDA needs a LibTorch with CUDA and NCCL "
                  "(or train on the CPU with Gloo)");
    }
#endif
    if (!group->impl_->backend) {
      auto o = c10d::ProcessGroupGloo::Options::create(timeout);
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0') {
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else if (is_loopback(env.master_addr)) {
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      o->threads = 2;
      group->impl_->backend =
          c10::make_intrusive<c10d::ProcessGroupGloo>(group->impl_->store, env.rank, env.world_size, o);
      group->impl_->name = "gloo";
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    group->fail("joining the " + std::to_string(env.world_size) + " ranks at " + where, e);
  }
  spdlog::debug("{}: joined with {}", env.describe(), group->impl_->name);
  return group;
}

std::string ProcessGroup::backend_name() const { return impl_->name; }

ProcessGroup::Pending ProcessGroup::all_reduce_sum_async(torch::Tensor tensor, const std::string& what) {
  Pending p;
  const std::string operation = "all-reduce of " + what;
  try {
    std::vector<torch::Tensor> tensors{std::move(tensor)};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options_.timeout);
    c10::intrusive_ptr<c10d::Work> work = impl_->backend->allreduce(tensors, o);
    p.wait_ = [this, work, operation] {
      try {
        work->wait();
      } catch (const Error&) {
        throw;
      } catch (const std::exception& e) {
        fail(operation, e);
      }
    };
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(operation, e);
  }
  return p;
}

void ProcessGroup::all_reduce_sum(torch::Tensor tensor, const std::string& what) {
  all_reduce_sum_async(std::move(tensor), what).wait();
}

void ProcessGroup::broadcast(std::vector<torch::Tensor> tensors, int root, const std::string& what) {
  for (auto& t : tensors) {
    try {
      std::vector<torch::Tensor> one{t};
      c10d::BroadcastOptions o;
      o.rootRank = root;
      o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options_.timeout);
      impl_->backend->broadcast(one, o)->wait();
    } catch (const std::exception& e) {
      fail("broadcast of " + what, e);
    }
  }
}

void ProcessGroup::barrier(const std::string& what) {
  // An all-reduce of one number: Gloo's barrier has no per-call timeout in 1.13.
  all_reduce_sum(torch::zeros({1}), what);
}

void ProcessGroup::check_same(const std::string& what, const std::string& text) {
  const std::string key = "check/" + what + "/";
  std::vector<std::string> texts(static_cast<std::size_t>(size()));
  try {
    impl_->store->set(key + std::to_string(rank()), std::vector<std::uint8_t>(text.begin(), text.end()));
    for (int r = 0; r < size(); ++r) {
      const auto bytes = impl_->store->get(key + std::to_string(r));
      texts[static_cast<std::size_t>(r)].assign(bytes.begin(), bytes.end());
    }
  } catch (const std::exception& e) {
    fail("comparing the " + what + " of every rank", e);
  }
  for (int r = 1; r < size(); ++r) {
    if (texts[static_cast<std::size_t>(r)] == texts[0]) continue;
    std::istringstream a(texts[0]), b(texts[static_cast<std::size_t>(r)]);
    std::string la, lb, section;
    while (true) {
      const bool ga = static_cast<bool>(std::getline(a, la)), gb = static_cast<bool>(std::getline(b, lb));
      if (!ga) la = "(nothing)";
      if (!gb) lb = "(nothing)";
      if (la != lb || (!ga && !gb)) break;
      if (la.size() > 2 && la.front() == '[' && la.back() == ']') section = la.substr(1, la.size() - 2) + ".";
    }
    throw_error(ErrorKind::Config, "the ranks were started with different " + what + ": rank 0 has " + section +
                                       la + ", rank " + std::to_string(r) + " has " + section + lb +
                                       " (every rank must run the same command on the same files)");
  }
}

#else  // no Gloo headers: a single process only

struct ProcessGroup::Impl {};

bool distributed_available() { return false; }

ProcessGroup::ProcessGroup(LaunchEnv env, DistOptions options) : env_(std::move(env)), options_(options) {}
ProcessGroup::~ProcessGroup() = default;

std::unique_ptr<ProcessGroup> ProcessGroup::join(const LaunchEnv&, const DistOptions&, const torch::Device&) {
  throw_error(ErrorKind::Usage,
              "this build has no c10d/Gloo (the LibTorch it was built against lacks the Gloo headers; on Debian "
              "install libgloo-dev and rebuild): data-parallel training is not available");
}
void ProcessGroup::fail(const std::string& what, const std::exception& e) const {
  throw_error(ErrorKind::Runtime, what + " failed: " + e.what());
}
std::string ProcessGroup::backend_name() const { return "none"; }
ProcessGroup::Pending ProcessGroup::all_reduce_sum_async(torch::Tensor, const std::string&) { return {}; }
void ProcessGroup::all_reduce_sum(torch::Tensor, const std::string&) {}
void ProcessGroup::broadcast(std::vector<torch::Tensor>, int, const std::string&) {}
void ProcessGroup::barrier(const std::string&) {}
void ProcessGroup::check_same(const std::string&, const std::string&) {}

#endif

}  // namespace mvtag
