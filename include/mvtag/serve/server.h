// The HTTP server behind `mvtag serve` (docs/SERVE.md): an exported model behind
//   POST /v1/tag        one video, a list of videos, or {"videos": [...]} as JSON
//   POST /v1/tag/pkl    the raw bytes of one original .pkl feature file (?title=...)
//   GET  /health        200 once the model is loaded (name, classes, precision), 503 before
//   GET  /metrics       Prometheus text (core/serve/server_metrics.h)
// Request threads parse and tokenize; one batching thread runs the network on micro-batches
// (core/serve/batcher.h) through the same Tagger as `mvtag infer`, so the scores are the same.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "mvtag/core/base/stop_token.h"
#include "mvtag/infer/tagger.h"

namespace mvtag {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                    // 0: any free port (see TagServer::port())
  std::size_t max_batch = 32;         // videos per forward pass
  double max_wait_ms = 2;             // how long the oldest waiting video may wait for company
  std::size_t max_queue = 1024;       // videos waiting; a request that does not fit gets 503
  std::size_t max_body = 64u << 20;   // bytes per request body; larger gets 413
  std::int64_t max_frames = 1000;     // frames per video and modality
  std::size_t max_videos = 256;       // videos per request
  int http_threads = 64;              // connections served at once (keep-alive holds one each)
  int read_timeout_s = 10;            // a client that sends nothing for this long is dropped
  int write_timeout_s = 10;
};

class TagServer {
 public:
  // Binds host:port at once (Error(Io) naming them when that fails); nothing is served yet.
  explicit TagServer(const ServeOptions& options);
  ~TagServer();
  TagServer(const TagServer&) = delete;
  TagServer& operator=(const TagServer&) = delete;

  int port() const;

  // Serves: /health answers 503 "loading" while the Tagger is built from `tagger`, then the
  // model is ready. Returns when `stop` is requested, after the listening socket is closed and
  // every request in flight has been answered. A model that fails to load rethrows its error.
  void run(const TaggerOptions& tagger, StopToken& stop);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mvtag
