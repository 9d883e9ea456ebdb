// The launch variables of a data-parallel run (torchrun, PyTorchJob, mvtag train --nproc).
#include <map>

#include <gtest/gtest.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/dist/launch_env.h"
#include "mvtag/core/dist/local_launch.h"

using namespace mvtag;

namespace {

LaunchEnv read(const std::map<std::string, std::string>& vars) {
  return read_launch_env([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

// The Error's key names the variable.
std::string failing_variable(const std::map<std::string, std::string>& vars) {
  try {
    read(vars);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config);
    return e.where().key;
  }
  return "(no error)";
}

}  // namespace

TEST(LaunchEnv, NothingSetIsASingleProcess) {
  const LaunchEnv env = read({});
  EXPECT_FALSE(env.distributed());
  EXPECT_TRUE(env.is_main());
  EXPECT_EQ(env.describe(), "a single process");
  EXPECT_FALSE(read({{"WORLD_SIZE", "1"}, {"RANK", "0"}}).distributed());
  EXPECT_FALSE(read({{"RANK", "0"}}).distributed());
}

TEST(LaunchEnv, ReadsWhatTorchrunSets) {
  const LaunchEnv env = read({{"WORLD_SIZE", "4"}, {"RANK", "3"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "node0"},
                              {"MASTER_PORT", "29500"}});
  EXPECT_TRUE(env.distributed());
  EXPECT_FALSE(env.is_main());
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "node0");
  EXPECT_EQ(env.master_port, 29500);
  EXPECT_FALSE(env.agent_store);
  EXPECT_EQ(env.describe(), "rank 3/4 (local 1) at node0:29500");
  // Without LOCAL_RANK, one process per machine or pod (PyTorchJob): local rank 0, its first GPU.
  EXPECT_EQ(read({{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}}).local_rank, 0);
}

TEST(LaunchEnv, TorchrunsAgentStoreIsUsedUnderItsPrefix) {
  const LaunchEnv env = read({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_ADDR", "127.0.0.1"},
                              {"MASTER_PORT", "29500"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                              {"TORCHELASTIC_RESTART_COUNT", "2"}});
  EXPECT_TRUE(env.agent_store);
  EXPECT_EQ(env.store_prefix, "/worker/attempt_2");
  EXPECT_EQ(env.restart_count, 2);
  EXPECT_FALSE(read({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "2"},
                     {"TORCHELASTIC_USE_AGENT_STORE", "False"}})
                   .agent_store);
}

TEST(LaunchEnv, BadOrMissingVariablesAreNamed) {
  const std::map<std::string, std::string> ok = {
      {"WORLD_SIZE", "2"}, {"RANK", "1"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "29500"}};
  auto without = [&](const std::string& name) {
    auto v = ok;
    v.erase(name);
    return v;
  };
  auto with = [&](const std::string& name, const std::string& value) {
    auto v = ok;
    v[name] = value;
    return v;
  };
  EXPECT_EQ(failing_variable(without("RANK")), "environment variable RANK");
  EXPECT_EQ(failing_variable(without("MASTER_ADDR")), "environment variable MASTER_ADDR");
  EXPECT_EQ(failing_variable(without("MASTER_PORT")), "environment variable MASTER_PORT");
  EXPECT_EQ(failing_variable(with("RANK", "2")), "environment variable RANK");  // outside [0, 2)
  EXPECT_EQ(failing_variable(with("RANK", "-1")), "environment variable RANK");
  EXPECT_EQ(failing_variable(with("WORLD_SIZE", "two")), "environment variable WORLD_SIZE");
  EXPECT_EQ(failing_variable(with("WORLD_SIZE", "0")), "environment variable WORLD_SIZE");
  EXPECT_EQ(failing_variable(with("MASTER_PORT", "70000")), "environment variable MASTER_PORT");
  EXPECT_EQ(failing_variable(with("MASTER_PORT", "29500x")), "environment variable MASTER_PORT");
  EXPECT_EQ(failing_variable(with("LOCAL_RANK", "5")), "environment variable LOCAL_RANK");
  EXPECT_EQ(failing_variable(with("TORCHELASTIC_RESTART_COUNT", "once")), "environment variable TORCHELASTIC_RESTART_COUNT");
  // A rank without a world.
  EXPECT_EQ(failing_variable({{"RANK", "1"}}), "environment variable WORLD_SIZE");
}

TEST(LocalLaunch, FindsAFreePortAndRefusesABadCount) {
  const int port = free_local_port();
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
  LocalLaunch l;
  l.nproc = 0;
  EXPECT_THROW(launch_local_workers(l), Error);
}

TEST(LocalLaunch, ReportsTheFirstWorkerThatFailed) {
  // /bin/sh as the worker: each rank exits with its RANK as status (rank 0 succeeds).
  LocalLaunch l;
  l.executable = "/bin/sh";
  l.args = {"-c", "exit $RANK"};
  l.nproc = 3;
  l.grace = std::chrono::seconds(5);
  const int code = launch_local_workers(l);
  EXPECT_TRUE(code == 1 || code == 2) << code;
  l.args = {"-c", "test \"$WORLD_SIZE\" = 3 && test \"$LOCAL_WORLD_SIZE\" = 3 && test \"$MASTER_ADDR\" = 127.0.0.1 "
                  "&& test \"$LOCAL_RANK\" = \"$RANK\" && test -n \"$MASTER_PORT\" && test \"$MVTAG_NPROC\" = 3"};
  EXPECT_EQ(launch_local_workers(l), 0);
}
