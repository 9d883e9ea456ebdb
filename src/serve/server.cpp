#include "mvtag/serve/server.h"

#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include <sys/socket.h>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/formats/pickle.h"
#include "mvtag/core/report/prediction_writer.h"
#include "mvtag/core/serve/batcher.h"
#include "mvtag/core/serve/request.h"
#include "mvtag/core/serve/server_metrics.h"
#include "mvtag/runtime/runtime.h"

namespace mvtag {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// A request the client got wrong (or that cannot be served now): status and a JSON body.
struct HttpError {
  int status;
  std::string message;
  std::string field;  // the JSON field, query parameter or header at fault; may be empty
  bool retry = false; // adds Retry-After: 1
};

void answer_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void answer_error(httplib::Response& res, const HttpError& e) {
  json body = {{"error", e.message}};
  if (!e.field.empty()) body["field"] = e.field;
  if (e.retry) res.set_header("Retry-After", "1");
  answer_json(res, e.status, body);
}

// A data error from the parsers (its key names the field) as a 400.
HttpError bad_request(const Error& e, const std::string& default_field) {
  // The field leads the message; other location parts (a file name inside a pickle...) follow.
  Location rest = e.where();
  const std::string field = rest.key.empty() ? default_field : rest.key;
  rest.key.clear();
  return HttpError{400, field + ": " + format_error(e.message(), rest), field};
}

// The path label for metrics: the known routes, everything else "other" (bounded cardinality).
std::string route_label(const std::string& path) {
  for (const char* known : {"/v1/tag", "/v1/tag/pkl", "/health", "/metrics"}) {
    if (path == known) return known;
  }
  return "other";
}

const char* reason_phrase(int status) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 408: return "request timeout";
    case 413: return "payload too large";
    case 414: return "URI too long";
    case 415: return "unsupported media type";
    case 416: return "range not satisfiable";
    case 431: return "request header fields too large";
    case 500: return "internal server error";
    case 503: return "service unavailable";
    default: return "error";
  }
}

// Per request-thread bookkeeping between the pre-routing hook and the logger (httplib serves a
// request on one thread from start to answer).
struct RequestClock {
  Clock::time_point start;
  bool active = false;
  std::size_t videos = 0;
};
thread_local RequestClock t_request;

}  // namespace

struct TagServer::State {
  ServeOptions options;
  httplib::Server http;
  int port = -1;
  ServerMetrics metrics;
  std::atomic<bool> ready{false};
  std::unique_ptr<Tagger> tagger;
  std::unique_ptr<MicroBatcher> batcher;
  std::string model_name;
  std::thread listener;

  void install_routes();
  void tag(const TagRequest& request, std::optional<double> threshold, std::optional<int> top_k, httplib::Response& res);
  void tag_json(const httplib::Request& req, httplib::Response& res);
  void tag_pkl(const httplib::Request& req, httplib::Response& res);
  void health(httplib::Response& res) const;
  RequestLimits limits() const {
    RequestLimits l;
    l.rgb_dim = tagger->rgb_dim();
    l.audio_dim = tagger->audio_dim();
    l.max_frames = options.max_frames;
    l.max_videos = options.max_videos;
    return l;
  }
};

TagServer::TagServer(const ServeOptions& options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.options = options;
  const int threads = std::max(1, options.http_threads);
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  s.http.set_payload_max_length(options.max_body);
  s.http.set_read_timeout(options.read_timeout_s, 0);
  s.http.set_write_timeout(options.write_timeout_s, 0);
  s.http.set_keep_alive_max_count(1000);
  s.http.set_tcp_nodelay(true);
  s.install_routes();
  // httplib listens with a backlog of 5 (compiled into Debian's library): more simultaneous
  // connects than that wait for a SYN retransmit (1 s) or fail. Keep the listening socket and
  // listen() on it again with the system's maximum, which Linux applies to a listening socket.
  int listening = -1;
  s.http.set_socket_options([&listening](int fd) {
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);  // httplib's default, which this replaces
    listening = fd;
  });
  if (options.port == 0) {
    s.port = s.http.bind_to_any_port(options.host);
  } else if (s.http.bind_to_port(options.host, options.port)) {
    s.port = options.port;
  }
  if (s.port <= 0) {
    throw_error(ErrorKind::Io, fmt::format("cannot listen on {}:{} (is the port in use, or the address not this "
                                           "machine's? --port 0 picks a free port)",
                                           options.host, options.port));
  }
  if (listening >= 0) ::listen(listening, SOMAXCONN);
}

TagServer::~TagServer() {
  if (state_->listener.joinable()) {
    state_->http.stop();
    state_->listener.join();
  }
}

int TagServer::port() const { return state_->port; }

void TagServer::State::install_routes() {
  http.set_pre_routing_handler([this](const httplib::Request&, httplib::Response&) {
    t_request = RequestClock{Clock::now(), true, 0};
    metrics.request_started();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // httplib's own errors (404, 413, a malformed request line ...) get a JSON body too.
  http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                    httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours, already JSON
    std::string message = reason_phrase(res.status);
    std::string field;
    if (res.status == 413 && req.body.size() <= options.max_body &&
        req.get_header_value("Content-Type") == "application/x-www-form-urlencoded") {
      // httplib parses form bodies as query strings and caps them at 8 KiB; curl -d and
      // --data-binary send that type unless told otherwise.
      message = "a body sent as application/x-www-form-urlencoded (curl -d's default) is limited to 8 KiB: "
                "send Content-Type: application/json (POST /v1/tag) or application/octet-stream (POST /v1/tag/pkl)";
      field = "Content-Type";
    } else if (res.status == 413) {
      message = fmt::format("the request body is larger than the limit of {} bytes (--max-body)", options.max_body);
      field = "body";
    } else if (res.status == 404) {
      message = fmt::format("no such endpoint: {} {} (POST /v1/tag, POST /v1/tag/pkl, GET /health, GET /metrics)",
                            req.method, req.path);
    }
    answer_error(res, HttpError{res.status, message, field});
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("request failed: {}", what);
    answer_error(res, HttpError{500, "internal error: " + what, ""});
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    double seconds = -1;
    if (t_request.active) seconds = std::chrono::duration<double>(Clock::now() - t_request.start).count();
    metrics.request_finished(route_label(req.path), res.status, seconds);
    spdlog::info("{} \"{} {}\" {} {} bytes in, {} out, {}{}", req.remote_addr, req.method, req.path, res.status,
                 req.body.size(), res.body.size(),
                 seconds >= 0 ? fmt::format("{:.1f} ms", seconds * 1e3) : std::string("-"),
                 t_request.videos ? fmt::format(", {} videos", t_request.videos) : std::string());
    t_request.active = false;
  });

  http.Post("/v1/tag", [this](const httplib::Request& req, httplib::Response& res) { tag_json(req, res); });
  http.Post("/v1/tag/pkl", [this](const httplib::Request& req, httplib::Response& res) { tag_pkl(req, res); });
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) { health(res); });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.prometheus_text(ready ? batcher->queue_depth() : 0),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
}

void TagServer::State::health(httplib::Response& res) const {
  if (!ready) {
    res.set_header("Retry-After", "1");
    answer_json(res, 503, {{"status", "loading"}});
    return;
  }
  answer_json(res, 200,
              {{"status", "ready"},
               {"model", model_name},
               {"classes", tagger->num_classes()},
               {"precision", to_string(tagger->precision())},
               {"device", tagger->model().net->parameters().empty()
                              ? std::string("cpu")
                              : tagger->model().net->parameters().front().device().str()},
               {"threshold", tagger->threshold()},
               {"text_max_len", tagger->text_max_len()},
               {"image_dim", tagger->rgb_dim()},
               {"audio_dim", tagger->audio_dim()},
               {"max_batch", options.max_batch},
               {"max_frames", options.max_frames}});
}

namespace {
// The threshold and top_k of the query string (?threshold=0.3&top_k=5), when given.
void query_settings(const httplib::Request& req, std::optional<double>& threshold, std::optional<int>& top_k) {
  if (req.has_param("threshold")) threshold = parse_threshold(req.get_param_value("threshold"), "threshold");
  if (req.has_param("top_k")) top_k = parse_top_k(req.get_param_value("top_k"), "top_k");
}
}  // namespace

void TagServer::State::tag_json(const httplib::Request& req, httplib::Response& res) {
  if (!ready) return answer_error(res, HttpError{503, "the model is still loading", "", true});
  TagRequest request;
  std::optional<double> threshold;
  std::optional<int> top_k;
  try {
    query_settings(req, threshold, top_k);
    request = parse_tag_request(req.body, limits());
  } catch (const Error& e) {
    return answer_error(res, bad_request(e, "body"));
  }
  if (request.threshold) threshold = request.threshold;  // the body's value wins over the query's
  if (request.top_k) top_k = request.top_k;
  tag(request, threshold, top_k, res);
}

void TagServer::State::tag_pkl(const httplib::Request& req, httplib::Response& res) {
  if (!ready) return answer_error(res, HttpError{503, "the model is still loading", "", true});
  TagRequest request;
  request.single = true;
  std::optional<double> threshold;
  std::optional<int> top_k;
  VideoInput v;
  try {
    query_settings(req, threshold, top_k);
    if (!req.has_param("title")) {
      return answer_error(res, HttpError{400, "the title is required: POST /v1/tag/pkl?title=...", "title"});
    }
    v.title = req.get_param_value("title");
    const RequestLimits l = limits();
    check_title(v.title, "title", l);
    if (req.body.empty()) return answer_error(res, HttpError{400, "the body must hold a .pkl feature file", "body"});
    const PickleValue record = parse_pickle(req.body, "the request body");
    VideoFeatures features = video_features_from_record(record, "the request body", l.rgb_dim, l.audio_dim);
    check_frame_count(features.rgb.rows, l.max_frames, "feature.image_pkl");
    check_frame_count(features.audio.rows, l.max_frames, "feature.audio_pkl");
    v.video_id = req.has_param("video_id") ? req.get_param_value("video_id") : features.video_id;
    v.image = std::move(features.rgb);
    v.audio = std::move(features.audio);
  } catch (const Error& e) {
    return answer_error(res, bad_request(e, "body"));
  }
  request.videos.push_back(std::move(v));
  tag(request, threshold, top_k, res);
}

void TagServer::State::tag(const TagRequest& request, std::optional<double> threshold, std::optional<int> top_k,
                           httplib::Response& res) {
  std::vector<Sample> samples;
  samples.reserve(request.videos.size());
  try {
    for (const VideoInput& v : request.videos) samples.push_back(tagger->make_sample(v.video_id, v.title, v.image, v.audio));
  } catch (const Error& e) {
    return answer_error(res, bad_request(e, "body"));
  }
  t_request.videos = samples.size();
  auto pending = batcher->submit(std::move(samples));
  if (!pending) {
    return answer_error(
        res, HttpError{503, fmt::format("the server is busy: {} videos wait already (--max-queue {})", batcher->queue_depth(),
                                        options.max_queue),
                       "", true});
  }
  const MicroBatcher::Scores scores = pending->get();  // a scoring failure throws: the exception handler answers 500
  const LabelSelection selection{threshold.value_or(tagger->threshold()), top_k.value_or(0)};
  const std::vector<std::string>& names = tagger->model().classes.names();
  json out = json::array();
  for (std::size_t i = 0; i < scores.size(); ++i) {
    json labels = json::array();
    for (const int c : select_labels(scores[i].data(), tagger->num_classes(), selection)) {
      labels.push_back(json::array({names[static_cast<std::size_t>(c)], scores[i][static_cast<std::size_t>(c)]}));
    }
    out.push_back({{"video_id", request.videos[i].video_id}, {"labels", std::move(labels)}});
  }
  answer_json(res, 200, request.single ? out[0] : out);
}

void TagServer::run(const TaggerOptions& tagger_options, StopToken& stop) {
  State& s = *state_;
  std::exception_ptr listen_error;
  s.listener = std::thread([&s] { s.http.listen_after_bind(); });
  try {
    s.tagger = std::make_unique<Tagger>(tagger_options);
    s.model_name = std::filesystem::path(tagger_options.model_dir).lexically_normal().filename().string();
    if (s.model_name.empty()) s.model_name = std::filesystem::path(tagger_options.model_dir).lexically_normal().parent_path().filename().string();
    MicroBatcher::Options bo;
    bo.max_batch = s.options.max_batch;
    bo.max_wait = std::chrono::microseconds(static_cast<std::int64_t>(s.options.max_wait_ms * 1000));
    bo.max_queue = s.options.max_queue;
    Tagger* tagger = s.tagger.get();
    s.batcher = std::make_unique<MicroBatcher>(
        [tagger](std::vector<Sample> samples) {
          thread_local bool adopted = false;
          if (!adopted) {
            adopt_thread_settings();
            adopted = true;
          }
          return tagger->score(std::move(samples));
        },
        bo, [&s](std::size_t n, double seconds) { s.metrics.batch_scored(n, seconds); });
    s.ready = true;
    spdlog::info("model {} ready: {} classes, batches of up to {} videos, waiting up to {} ms", s.model_name,
                 s.tagger->num_classes(), s.options.max_batch, s.options.max_wait_ms);
  } catch (...) {
    listen_error = std::current_exception();
  }
  while (!listen_error && !stop.requested()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!listen_error) spdlog::info("stopping: no new connections; answering the requests in flight");
  s.http.stop();  // closes the listening socket; listen_after_bind() returns once in-flight requests are answered
  s.listener.join();
  if (s.batcher) s.batcher->stop();
  if (listen_error) std::rethrow_exception(listen_error);
  spdlog::info("stopped");
}

}  // namespace mvtag
