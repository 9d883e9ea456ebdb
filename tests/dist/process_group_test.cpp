// c10d through mvtag's ProcessGroup and GradientSync, with the ranks as threads of this process
// on loopback (Gloo).
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/dist/local_launch.h"
#include "mvtag/dist/gradient_sync.h"
#include "mvtag/dist/process_group.h"

using namespace mvtag;

namespace {

// Runs `body` as `n` ranks, one thread each; returns each rank's exception (or nullptr).
std::vector<std::exception_ptr> run_ranks(int n, const std::function<void(ProcessGroup&)>& body, int timeout_s = 30) {
  const int port = free_local_port();
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      try {
        LaunchEnv env;
        env.world_size = n;
        env.rank = r;
        env.local_rank = r;
        env.master_addr = "127.0.0.1";
        env.master_port = port;
        DistOptions o;
        o.timeout = std::chrono::seconds(timeout_s);
        auto group = ProcessGroup::join(env, o, torch::kCPU);
        body(*group);
      } catch (...) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

void expect_no_errors(const std::vector<std::exception_ptr>& errors) {
  for (std::size_t r = 0; r < errors.size(); ++r) {
    if (!errors[r]) continue;
    try {
      std::rethrow_exception(errors[r]);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "rank " << r << ": " << e.what();
    }
  }
}

// Two layers, a summed loss: the network's shape of objective, small enough to check by hand.
struct Tiny : torch::nn::Module {
  Tiny() {
    torch::manual_seed(5);
    a = register_module("a", torch::nn::Linear(5, 4));
    b = register_module("b", torch::nn::Linear(4, 3));
  }
  torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& y) {
    return torch::binary_cross_entropy_with_logits(b(torch::tanh(a(x))), y, {}, {}, at::Reduction::Sum);
  }
  torch::nn::Linear a{nullptr}, b{nullptr};
};

}  // namespace

#define SKIP_WITHOUT_GLOO() \
  if (!distributed_available()) GTEST_SKIP() << "this build has no c10d/Gloo (libgloo-dev)"

TEST(ProcessGroup, AllReduceSumsAndBroadcastCopies) {
  SKIP_WITHOUT_GLOO();
  std::mutex m;
  std::vector<std::vector<float>> got(3);
  expect_no_errors(run_ranks(3, [&](ProcessGroup& g) {
    EXPECT_EQ(g.size(), 3);
    EXPECT_EQ(g.backend_name(), "gloo");
    torch::Tensor t = torch::tensor({1.0f * (g.rank() + 1), 10.0f * (g.rank() + 1)});
    g.all_reduce_sum(t, "test");
    torch::Tensor b = torch::full({2}, static_cast<float>(g.rank()));
    g.broadcast({b}, 1, "test");
    g.barrier("test");
    std::lock_guard<std::mutex> lock(m);
    got[static_cast<std::size_t>(g.rank())] = {t[0].item<float>(), t[1].item<float>(), b[0].item<float>()};
  }));
  for (const auto& v : got) EXPECT_EQ(v, (std::vector<float>{6, 60, 1}));
}

TEST(ProcessGroup, DifferentConfigurationsAreNamedOnEveryRank) {
  SKIP_WITHOUT_GLOO();
  const auto errors = run_ranks(2, [&](ProcessGroup& g) {
    g.check_same("configurations", std::string("[MODEL]\nnum_classes = 3\n[TRAIN]\nbatch_size = ") +
                                       (g.rank() == 0 ? "4" : "8") + "\nepoch = 2\n");
  });
  for (const auto& e : errors) {
    ASSERT_TRUE(e);
    try {
      std::rethrow_exception(e);
    } catch (const Error& err) {
      EXPECT_EQ(err.kind(), ErrorKind::Config);
      EXPECT_NE(std::string(err.what()).find("rank 0 has TRAIN.batch_size = 4, rank 1 has TRAIN.batch_size = 8"),
                std::string::npos)
          << err.what();
    }
  }
  // The same text passes.
  expect_no_errors(run_ranks(2, [&](ProcessGroup& g) { g.check_same("configurations", "a = 1\n"); }));
}

TEST(GradientSync, EachRanksShardSumsToTheFullBatchGradient) {
  SKIP_WITHOUT_GLOO();
  torch::manual_seed(1);
  const torch::Tensor x = torch::randn({7, 5});
  const torch::Tensor y = (torch::rand({7, 3}) > 0.5).to(torch::kFloat32);
  Tiny reference;
  reference.loss(x, y).backward();

  // Rank 0 takes rows 0..2, rank 1 rows 3..6, rank 2 nothing. Buckets of 64 bytes: the
  // parameters spread over several buckets, started in order.
  std::mutex m;
  std::vector<std::vector<torch::Tensor>> grads(3);
  expect_no_errors(run_ranks(3, [&](ProcessGroup& g) {
    Tiny net;
    GradientSync sync(g, net.parameters(), 64);
    EXPECT_GE(sync.num_buckets(), 3u);
    const std::int64_t begin = g.rank() == 0 ? 0 : 3, end = g.rank() == 0 ? 3 : (g.rank() == 1 ? 7 : 3);
    for (int step = 0; step < 2; ++step) {  // twice: the second step must not see the first's sums
      for (auto& p : net.parameters()) {
        if (p.grad().defined()) p.mutable_grad().zero_();
      }
      sync.begin_step();
      if (end > begin) net.loss(x.slice(0, begin, end), y.slice(0, begin, end)).backward();
      sync.finish_step();
    }
    std::lock_guard<std::mutex> lock(m);
    for (auto& p : net.parameters()) grads[static_cast<std::size_t>(g.rank())].push_back(p.grad().clone());
  }));
  const auto want = reference.parameters();
  for (std::size_t r = 0; r < 3; ++r) {
    ASSERT_EQ(grads[r].size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_TRUE(torch::allclose(grads[r][i], want[i].grad(), 1e-5, 1e-6))
          << "rank " << r << " parameter " << i << "\n" << grads[r][i] << "\n" << want[i].grad();
    }
  }
}

TEST(ProcessGroup, ARankThatIsGoneFailsTheOthersWithinTheTimeout) {
  SKIP_WITHOUT_GLOO();
  // Rank 1 joins and leaves; rank 0's all-reduce fails with an Error naming it, never hangs.
  const auto errors = run_ranks(
      2,
      [&](ProcessGroup& g) {
        if (g.rank() == 1) return;
        torch::Tensor t = torch::ones({4});
        g.all_reduce_sum(t, "a lonely tensor");
      },
      3);
  ASSERT_TRUE(errors[0]);
  EXPECT_FALSE(errors[1]);
  try {
    std::rethrow_exception(errors[0]);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Runtime);
    EXPECT_NE(std::string(e.what()).find("rank 0/2: all-reduce of a lonely tensor failed"), std::string::npos)
        << e.what();
  }
}
