// `mvtag serve` end to end: a real server started by the test on a free port, spoken to with
// cpp-httplib's client. Scores equal `mvtag infer`'s for every validation video (JSON nested
// arrays, base64 and .pkl bodies, one by one and as one list); every kind of bad request gets a
// 4xx naming the field while the server keeps serving; 8 clients x 50 requests; a full queue;
// slow clients; SIGTERM with a request in flight.
#ifdef MVTAG_HAVE_SERVE

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <regex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "mvtag/core/base/io.h"
#include "mvtag/core/data/class_map.h"
#include "mvtag/core/data/features.h"
#include "mvtag/core/data/list_file.h"
#include "mvtag/core/serve/request.h"
#include "small_job.h"

using namespace mvtag;
using namespace mvtag::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A server started in the background; the port is read from its first line on stdout.
class Server {
 public:
  Server(const std::string& args, const std::string& dir) : process_("serve " + args + " --port 0", dir) {
    const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 600 && port_ == 0; ++i) {  // up to 60 s
      std::smatch m;
      const std::string out = process_.out_so_far();
      if (std::regex_search(out, m, listening)) port_ = std::stoi(m[1]);
      else std::this_thread::sleep_for(100ms);
    }
    if (port_ == 0) return;
    for (int i = 0; i < 600; ++i) {
      auto r = client().Get("/health");
      if (r && r->status == 200) {
        ready_ = true;
        return;
      }
      std::this_thread::sleep_for(100ms);
    }
  }
  bool ready() const { return ready_; }
  int port() const { return port_; }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c;
  }
  BackgroundMvtag& process() { return process_; }
  std::string log() const { return process_.err_so_far(); }

 private:
  BackgroundMvtag process_;
  int port_ = 0;
  bool ready_ = false;
};

struct Video {
  std::string id;
  std::string title;
  std::string pkl;  // the feature file's bytes
  VideoFeatures features;
};

json nested(const FeatureMatrix& m) {
  json rows = json::array();
  for (std::int64_t r = 0; r < m.rows; ++r) {
    rows.push_back(std::vector<float>(m.data.begin() + r * m.cols, m.data.begin() + (r + 1) * m.cols));
  }
  return rows;
}

json base64(const FeatureMatrix& m) {
  std::string bytes(m.data.size() * 4, '\0');
  std::memcpy(bytes.data(), m.data.data(), bytes.size());  // little-endian hosts only (x86, arm)
  return {{"base64", encode_base64(bytes)}, {"dtype", "float32"}, {"shape", {m.rows, m.cols}}};
}

json video_json(const Video& v, bool as_base64) {
  return {{"video_id", v.id},
          {"title", v.title},
          {"image", as_base64 ? base64(v.features.rgb) : nested(v.features.rgb)},
          {"audio", as_base64 ? base64(v.features.audio) : nested(v.features.audio)}};
}

// video_id -> class name -> probability, from output.json or a server answer (threshold 0).
using Scores = std::map<std::string, std::map<std::string, double>>;
void add_scores(const json& answer, Scores& out) {
  for (const auto& label : answer.at("labels")) out[answer.at("video_id")][label[0]] = label[1].get<double>();
}

class Serve : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("serve");
    write_small_job(*dir_);
    CliResult r = run_mvtag("train --conf conf.txt --save_dir run --threads 1 --set TRAIN.epoch=1", dir_->path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_mvtag("export --conf conf.txt --model run/best --output model", dir_->path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_mvtag("infer --conf conf.txt --model model --threshold 0 -o infer.json --threads 1", dir_->path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expected_ = new Scores;
    for (const auto& v : json::parse(read_file(dir_->file("infer.json")))) add_scores(v, *expected_);
    videos_ = new std::vector<Video>;
    const ClassMap classes = ClassMap::load(dir_->file("data/class.txt"));
    for (const VideoItem& item : read_list_file(dir_->file("data/val.txt"), ListMode::Infer, classes).items) {
      Video v;
      const std::string path = feature_path_for(dir_->file("data/feature_files"), item.name);
      v.features = load_video_features(path, 16, 8);
      v.id = v.features.video_id;
      v.title = item.title;
      v.pkl = read_file(path);
      videos_->push_back(std::move(v));
    }
    server_ = new Server(
        "--model model --threads 1 --max-wait-ms 20 --max-body 200000 --max-frames 50 --threshold 0 --timeout 2",
        dir_->path());
    ASSERT_TRUE(server_->ready()) << server_->log();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete videos_;
    delete expected_;
    delete dir_;
  }

  static void expect_scores_equal_infer(const Scores& got) {
    ASSERT_EQ(expected_->size(), 8u);  // the small job's validation videos, 12 classes each at threshold 0
    ASSERT_EQ(got.size(), expected_->size());
    for (const auto& [id, classes] : *expected_) {
      ASSERT_EQ(got.count(id), 1u) << id;
      ASSERT_EQ(got.at(id).size(), classes.size()) << id;
      for (const auto& [name, p] : classes) EXPECT_NEAR(got.at(id).at(name), p, 1e-5) << id << " " << name;
    }
  }

  // POSTs a JSON body; expects `status`, and for a 4xx an error naming `field`.
  static json post(const std::string& body, int status, const std::string& field = "") {
    auto r = server_->client().Post("/v1/tag", body, "application/json");
    EXPECT_TRUE(r) << "no answer";
    if (!r) return {};
    EXPECT_EQ(r->status, status) << r->body;
    const json answer = json::parse(r->body, nullptr, false);
    EXPECT_FALSE(answer.is_discarded()) << "not JSON: " << r->body;
    if (status >= 400) {
      EXPECT_EQ(answer.value("field", ""), field) << r->body;
      EXPECT_FALSE(answer.value("error", "").empty()) << r->body;
    }
    return answer;
  }

  static void expect_still_serving() {
    const json a = post(video_json(videos_->front(), false).dump(), 200);
    EXPECT_EQ(a.value("video_id", ""), videos_->front().id);
  }

  static TempDir* dir_;
  static Scores* expected_;
  static std::vector<Video>* videos_;
  static Server* server_;
};
TempDir* Serve::dir_ = nullptr;
Scores* Serve::expected_ = nullptr;
std::vector<Video>* Serve::videos_ = nullptr;
Server* Serve::server_ = nullptr;

}  // namespace

TEST_F(Serve, HealthNamesTheModel) {
  auto r = server_->client().Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const json h = json::parse(r->body);
  EXPECT_EQ(h["status"], "ready");
  EXPECT_EQ(h["model"], "model");
  EXPECT_EQ(h["classes"], 12);
  EXPECT_EQ(h["precision"], "fp32");
}

TEST_F(Serve, HealthReportsThePrecisionInUse) {
  Server int8("--model model --precision int8 --device cpu --threads 1 --log-level warn", dir_->path());
  ASSERT_TRUE(int8.ready()) << int8.log();
  auto r = int8.client().Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["precision"], "int8");
}

TEST_F(Serve, ScoresEqualInferOneByOneAsJsonBase64AndPkl) {
  Scores nested_scores, base64_scores, pkl_scores;
  for (const Video& v : *videos_) {
    add_scores(post(video_json(v, false).dump(), 200), nested_scores);
    add_scores(post(video_json(v, true).dump(), 200), base64_scores);
    const httplib::Params q{{"title", v.title}};
    auto r = server_->client().Post(httplib::append_query_params("/v1/tag/pkl", q).c_str(), v.pkl,
                                    "application/octet-stream");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    add_scores(json::parse(r->body), pkl_scores);
  }
  expect_scores_equal_infer(nested_scores);
  expect_scores_equal_infer(base64_scores);
  expect_scores_equal_infer(pkl_scores);
}

TEST_F(Serve, ScoresEqualInferAsOneList) {
  json list = json::array();
  for (const Video& v : *videos_) list.push_back(video_json(v, true));
  const json answer = post(json{{"videos", list}}.dump(), 200);
  ASSERT_TRUE(answer.is_array());
  Scores got;
  for (const auto& a : answer) add_scores(a, got);
  expect_scores_equal_infer(got);
  // ... and top_k / threshold per request
  const json top = post(json{{"videos", {video_json(videos_->front(), false)}}, {"top_k", 2}}.dump(), 200);
  EXPECT_EQ(top[0]["labels"].size(), 2u);
  const json none = post(json{{"videos", {video_json(videos_->front(), false)}}, {"threshold", 1.0}}.dump(), 200);
  EXPECT_EQ(none[0]["labels"].size(), 0u);
}

TEST_F(Serve, BadRequestsGet4xxNamingTheFieldAndTheServerGoesOn) {
  const Video& v = videos_->front();
  post("{\"video_id\": \"x\", ", 400, "body");  // malformed JSON
  expect_still_serving();
  json j = video_json(v, false);
  j["image"][0].push_back(1.0);  // 17 wide
  post(j.dump(), 400, "image[0]");
  j = video_json(v, false);
  j["audio"] = {{"base64", "AAAA"}, {"shape", {1, 16}}};  // wrong width
  post(j.dump(), 400, "audio");
  j = video_json(v, true);
  std::vector<float> nan_row(16, 0.5f);
  nan_row[3] = std::nanf("");
  std::string bytes(16 * 4, '\0');
  std::memcpy(bytes.data(), nan_row.data(), bytes.size());
  j["image"] = {{"base64", encode_base64(bytes)}, {"shape", {1, 16}}};
  post(j.dump(), 400, "image[0][3]");
  expect_still_serving();
  j = video_json(v, false);
  j["title"] = " ";
  post(j.dump(), 400, "title");
  j = video_json(v, false);
  j["image"] = json::array();
  for (int i = 0; i < 51; ++i) j["image"].push_back(std::vector<float>(16, 0.0f));
  post(j.dump(), 400, "image");  // --max-frames 50
  const std::string huge(300000, ' ');
  post("[" + huge + "]", 413, "body");  // --max-body 200000
  expect_still_serving();
  // An evil pickle is refused by the safe reader, naming what it asked for.
  auto r = server_->client().Post("/v1/tag/pkl?title=t", read_file(MVTAG_FIXTURES "/pickle/evil_os_system_proto0.pkl"),
                                  "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(r->body.find("system"), std::string::npos) << r->body;
  r = server_->client().Post("/v1/tag/pkl", v.pkl, "application/octet-stream");  // no title
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["field"], "title");
  r = server_->client().Post("/v1/tag?threshold=2", video_json(v, false).dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["field"], "threshold");
  r = server_->client().Get("/v2/nothing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_FALSE(json::parse(r->body)["error"].get<std::string>().empty());
  expect_still_serving();
}

TEST_F(Serve, EightClientsTimesFiftyRequestsShareBatches) {
  std::vector<std::future<int>> clients;
  for (int c = 0; c < 8; ++c) {
    clients.push_back(std::async(std::launch::async, [c] {
      int failures = 0;
      httplib::Client client = server_->client();
      for (int i = 0; i < 50; ++i) {
        const Video& v = (*videos_)[static_cast<std::size_t>(c + i) % videos_->size()];
        auto r = client.Post("/v1/tag", video_json(v, true).dump(), "application/json");
        if (!r || r->status != 200) {
          ++failures;
          continue;
        }
        const json a = json::parse(r->body);
        for (const auto& label : a["labels"]) {
          if (std::abs(label[1].get<double>() - expected_->at(v.id).at(label[0])) > 1e-5) ++failures;
        }
      }
      return failures;
    }));
  }
  for (auto& c : clients) EXPECT_EQ(c.get(), 0);
  auto m = server_->client().Get("/metrics");
  ASSERT_TRUE(m);
  const std::regex one("mvtag_batch_size_bucket\\{le=\"1\"\\} ([0-9]+)"), count("mvtag_batch_size_count ([0-9]+)");
  std::smatch a, b;
  ASSERT_TRUE(std::regex_search(m->body, a, one)) << m->body;
  ASSERT_TRUE(std::regex_search(m->body, b, count)) << m->body;
  EXPECT_GT(std::stoll(b[1]), std::stoll(a[1])) << "no batch of more than one video:\n" << m->body;
  EXPECT_NE(m->body.find("mvtag_requests_total{path=\"/v1/tag\",status=\"200\"}"), std::string::npos);
  EXPECT_NE(m->body.find("mvtag_queue_depth"), std::string::npos);
  EXPECT_NE(m->body.find("mvtag_request_duration_seconds_bucket"), std::string::npos);
}

TEST_F(Serve, ASlowClientIsDroppedWhileOthersAreServed) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string partial = "POST /v1/tag HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"vid";
  ASSERT_EQ(::send(fd, partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));
  expect_still_serving();  // meanwhile
  // --timeout 2: the server gives up on the body and closes the connection (recv sees the end,
  // possibly after an error answer); without a timeout this recv would block for good.
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[4096];
  ssize_t n;
  std::string got;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<std::size_t>(n));
  EXPECT_EQ(n, 0) << "the connection was not closed by the server (errno " << errno << ")";
  ::close(fd);
}

// The demo's 240 validation videos (scripts/demo.sh's data and conf/demo.txt, one epoch of
// training): every one scores as `mvtag infer` scores it, sent as its .pkl file, and all at once
// as one base64 list.
TEST(ServeAlone, EveryDemoValidationVideoScoresAsInfer) {
  TempDir dir("serve_demo");
  std::filesystem::create_directories(dir.file("conf"));
  std::filesystem::copy_file(MVTAG_SOURCE_DIR "/conf/demo.txt", dir.file("conf/demo.txt"));
  CliResult r = run_mvtag("demo-data --output demo_data", dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_mvtag("train --conf conf/demo.txt --save_dir run --set TRAIN.epoch=1", dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_mvtag("export --conf conf/demo.txt --model run/best --output model", dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_mvtag("infer --conf conf/demo.txt --model model --threshold 0 -o infer.json", dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Scores expected;
  for (const auto& v : json::parse(read_file(dir.file("infer.json")))) add_scores(v, expected);
  ASSERT_EQ(expected.size(), 240u);

  Server server("--model model --threshold 0", dir.path());
  ASSERT_TRUE(server.ready()) << server.log();
  const ClassMap classes = ClassMap::load(dir.file("demo_data/class.txt"));
  Scores from_pkl, from_list;
  json list = json::array();
  httplib::Client client = server.client();
  for (const VideoItem& item : read_list_file(dir.file("demo_data/val.txt"), ListMode::Infer, classes).items) {
    const std::string path = feature_path_for(dir.file("demo_data/feature_files"), item.name);
    const httplib::Params q{{"title", item.title}};
    auto a = client.Post(httplib::append_query_params("/v1/tag/pkl", q).c_str(), read_file(path),
                         "application/octet-stream");
    ASSERT_TRUE(a);
    ASSERT_EQ(a->status, 200) << a->body;
    add_scores(json::parse(a->body), from_pkl);
    const VideoFeatures f = load_video_features(path, 2048, 128);
    list.push_back({{"video_id", f.video_id}, {"title", item.title}, {"image", base64(f.rgb)}, {"audio", base64(f.audio)}});
  }
  auto a = client.Post("/v1/tag", json{{"videos", list}}.dump(), "application/json");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->status, 200) << a->body.substr(0, 300);
  for (const auto& v : json::parse(a->body)) add_scores(v, from_list);
  for (const Scores* got : {&from_pkl, &from_list}) {
    ASSERT_EQ(got->size(), expected.size());
    for (const auto& [id, classes_p] : expected) {
      ASSERT_EQ(got->count(id), 1u) << id;
      ASSERT_EQ(got->at(id).size(), 12u) << id;
      for (const auto& [name, p] : classes_p) EXPECT_NEAR(got->at(id).at(name), p, 1e-5) << id << " " << name;
    }
  }
}

TEST(ServeAlone, AFullQueueAnswers503AndSigtermFinishesTheRequestInFlight) {
  TempDir dir("serve_stop");
  write_small_job(dir);
  CliResult r = run_mvtag("train --conf conf.txt --save_dir run --threads 1 --set TRAIN.epoch=1", dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A lone video waits up to 3 s for company; the queue holds one video.
  Server server("--model run/best --threads 1 --max-batch 2 --max-wait-ms 3000 --max-queue 1", dir.path());
  ASSERT_TRUE(server.ready()) << server.log();
  const VideoFeatures f = load_video_features(dir.file("data/feature_files/") +
                                                  video_key(read_list_file(dir.file("data/val.txt"), ListMode::Infer,
                                                                           ClassMap::load(dir.file("data/class.txt")))
                                                                .items.front()
                                                                .name) +
                                                  ".pkl",
                                              16, 8);
  const std::string body =
      json{{"video_id", "a"}, {"title", "t"}, {"image", base64(f.rgb)}, {"audio", base64(f.audio)}}.dump();
  auto in_flight = std::async(std::launch::async, [&] { return server.client().Post("/v1/tag", body, "application/json"); });
  // Wait until the first video waits in the queue.
  for (int i = 0; i < 300; ++i) {
    auto m = server.client().Get("/metrics");
    if (m && m->body.find("mvtag_queue_depth 1\n") != std::string::npos) break;
    std::this_thread::sleep_for(10ms);
  }
  auto busy = server.client().Post("/v1/tag", body, "application/json");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503) << busy->body;
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  server.process().signal(SIGTERM);
  auto answered = in_flight.get();
  ASSERT_TRUE(answered) << "the request in flight was dropped";
  EXPECT_EQ(answered->status, 200) << answered->body;
  const CliResult done = server.process().finish();
  EXPECT_EQ(done.exit_code, 0) << done.err;
  EXPECT_NE(done.err.find("stopping"), std::string::npos) << done.err;
  // One access-log line per request.
  EXPECT_NE(done.err.find("\"POST /v1/tag\" 503"), std::string::npos) << done.err;
  EXPECT_NE(done.err.find("\"POST /v1/tag\" 200"), std::string::npos) << done.err;
}

TEST(ServeAlone, APortInUseIsAClearError) {
  TempDir dir("serve_port");
  const test::BusyPort busy;
  ASSERT_GT(busy.port(), 0);
  const int port = busy.port();
  const CliResult r = run_mvtag("serve --model nowhere --port " + std::to_string(port), dir.path());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos) << r.err;
}

#endif  // MVTAG_HAVE_SERVE
