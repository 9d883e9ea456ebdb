// Load generator for `mvtag serve` (scripts/load_test.sh, docs/PERFORMANCE.md): C client threads
// with one keep-alive connection each send single-video POST /v1/tag requests (base64 float32
// features of the list's videos, round robin) for a fixed number of requests, then print the
// throughput and the latency percentiles as one line.
//
//   mvtag_load_test --port 8080 --list demo_data/val.txt --features demo_data/feature_files/
//                   --concurrency 8 --requests 400          (one command line)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "mvtag/core/data/class_map.h"
#include "mvtag/core/data/features.h"
#include "mvtag/core/data/list_file.h"
#include "mvtag/core/serve/request.h"

namespace {

nlohmann::json base64_matrix(const mvtag::FeatureMatrix& m) {
  std::string bytes(m.data.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), m.data.data(), bytes.size());
  return {{"base64", mvtag::encode_base64(bytes)}, {"dtype", "float32"}, {"shape", {m.rows, m.cols}}};
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Load generator for mvtag serve"};
  std::string host = "127.0.0.1", list, features;
  int port = 8080, concurrency = 1, requests = 200;
  app.add_option("--host", host)->capture_default_str();
  app.add_option("--port", port)->required();
  app.add_option("--list", list, "List file whose videos are sent (titles from it)")->required();
  app.add_option("--features", features, "Its feature directory")->required();
  app.add_option("--concurrency,-c", concurrency)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--requests,-n", requests, "Requests in all")->check(CLI::PositiveNumber)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    const mvtag::ListFile items = mvtag::read_list_file(list, mvtag::ListMode::Infer, mvtag::ClassMap{});
    std::vector<std::string> bodies;
    for (const auto& item : items.items) {
      const mvtag::VideoFeatures f = mvtag::load_video_features(mvtag::feature_path_for(features, item.name), 0, 0);
      bodies.push_back(nlohmann::json{{"video_id", f.video_id},
                                      {"title", item.title.empty() ? std::string("-") : item.title},
                                      {"image", base64_matrix(f.rgb)},
                                      {"audio", base64_matrix(f.audio)}}
                           .dump());
    }
    if (bodies.empty()) throw std::runtime_error("no video in " + list);

    std::atomic<int> next{0}, errors{0};
    std::mutex mutex;
    std::vector<double> latencies;
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < concurrency; ++c) {
      threads.emplace_back([&] {
        httplib::Client client(host, port);
        client.set_keep_alive(true);
        client.set_read_timeout(120, 0);
        std::vector<double> mine;
        for (int i = next++; i < requests; i = next++) {
          const auto t0 = std::chrono::steady_clock::now();
          auto r = client.Post("/v1/tag", bodies[static_cast<std::size_t>(i) % bodies.size()], "application/json");
          const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
          if (!r || r->status != 200) {
            if (errors++ == 0) std::cerr << "first error: " << (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error())) << "\n";
            continue;
          }
          mine.push_back(ms);
        }
        std::lock_guard<std::mutex> lock(mutex);
        latencies.insert(latencies.end(), mine.begin(), mine.end());
      });
    }
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("concurrency %d: %d requests, %d errors, %.1f videos/s, p50 %.1f ms, p99 %.1f ms\n", concurrency,
                requests, errors.load(), static_cast<double>(latencies.size()) / seconds, percentile(latencies, 0.5),
                percentile(latencies, 0.99));
    return errors.load() == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "mvtag_load_test: " << e.what() << "\n";
    return 1;
  }
}
