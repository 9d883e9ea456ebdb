// mvtag serve: parse, open a TagServer, run it until SIGINT/SIGTERM.
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "config_options.h"
#include "device.h"
#include "model_options.h"
#include "precision_option.h"
#include "mvtag/core/base/error.h"

#ifdef MVTAG_HAVE_SERVE
#include "mvtag/core/base/stop_signals.h"
#include "mvtag/runtime/runtime.h"
#include "mvtag/model/precision.h"
#include "mvtag/serve/server.h"
#endif

namespace mvtag::cli {

#ifdef MVTAG_HAVE_SERVE
Command add_serve_command(CLI::App& root) {
  auto* sub = root.add_subcommand(
      "serve",
      "Tag videos over HTTP with an exported model (docs/SERVE.md):\n"
      "  POST /v1/tag       JSON: one video {video_id, title, image, audio}, a list, or {\"videos\": [...]}\n"
      "  POST /v1/tag/pkl   the bytes of one original .pkl feature file, ?title=...\n"
      "  GET  /health       ready once the model is loaded;  GET /metrics  Prometheus text\n"
      "Concurrent requests are grouped into one forward pass (--max-batch, --max-wait-ms); the scores\n"
      "are those of `mvtag infer`. SIGINT/SIGTERM stop accepting, answer what is in flight, exit 0.");
  auto options = std::make_shared<ConfigOptions>(*sub);
  auto model = std::make_shared<std::string>("inference_model");
  auto device = std::make_shared<std::string>();
  auto so = std::make_shared<ServeOptions>();
  auto threshold = std::make_shared<double>(-1);
  auto precision = std::make_shared<std::string>();
  add_model_input_option(*sub, *model, "Inference model directory (from `mvtag export`)");
  sub->add_option("--host", so->host, "Address to listen on (0.0.0.0: every interface)")->capture_default_str()->group("Server");
  sub->add_option("--port", so->port, "TCP port; 0 picks a free one (printed when bound)")
      ->check(CLI::Range(0, 65535))->capture_default_str()->group("Server");
  sub->add_option("--max-batch", so->max_batch, "Most videos per forward pass")
      ->check(CLI::Range(1, 4096))->capture_default_str()->group("Batching");
  sub->add_option("--max-wait-ms", so->max_wait_ms, "How long a waiting video may wait for others to join its batch")
      ->check(CLI::Range(0.0, 10000.0))->capture_default_str()->group("Batching");
  sub->add_option("--max-queue", so->max_queue, "Videos that may wait; beyond that requests get 503 + Retry-After")
      ->check(CLI::Range(1, 1 << 24))->capture_default_str()->group("Batching");
  sub->add_option("--max-body", so->max_body, "Largest request body in bytes (413 beyond)")
      ->check(CLI::Range(1024, 1 << 30))->capture_default_str()->group("Limits");
  sub->add_option("--max-frames", so->max_frames, "Most frames per video and modality (400 beyond)")
      ->check(CLI::Range(1, 1 << 20))->capture_default_str()->group("Limits");
  sub->add_option("--max-videos", so->max_videos, "Most videos per request (400 beyond)")
      ->check(CLI::Range(1, 1 << 20))->capture_default_str()->group("Limits");
  sub->add_option("--http-threads", so->http_threads, "Connections served at once (each keep-alive client holds one)")
      ->check(CLI::Range(1, 4096))->capture_default_str()->group("Server");
  sub->add_option("--timeout", so->read_timeout_s, "Seconds a client may stay silent while sending before it is dropped")
      ->check(CLI::Range(1, 3600))->capture_default_str()->group("Server");
  sub->add_option("--threshold", *threshold,
                  "Default threshold of the answers (a request may give its own). Default: INFER.threshold\n"
                  "of --conf when given, else the model's inference.json")
      ->check(CLI::Range(0.0, 1.0))->group("Run");
  add_device_option(*sub, *device);
  add_precision_option(*sub, *precision);
  return {sub, [sub, options, model, device, so, threshold, precision]() -> int {
            const auto chosen_precision = parse_precision_flag(*precision);
            // The configuration applies only when asked for: a deployed model needs none.
            const bool with_config = sub->get_option("--conf")->count() > 0 || !options->source().overrides.empty();
            std::unique_ptr<Config> cfg;
            if (with_config) cfg = std::make_unique<Config>(options->load());
            if (options->dump_requested()) return print_config(cfg ? *cfg : options->load());
            TaggerOptions t;
            t.model_dir = *model;
            t.config = cfg.get();
            t.device = cfg ? resolve_device(*cfg, *device) : choose_device(device->empty() ? "auto" : *device);
            if (*threshold >= 0) t.threshold = *threshold;
            t.precision = chosen_precision;
            if (chosen_precision) check_precision_device(*chosen_precision, t.device);  // before binding
            so->write_timeout_s = so->read_timeout_s;
            TagServer server(*so);
            // The port goes to stdout, flushed, for whoever started us (scripts, tests).
            std::cout << "mvtag serve: listening on http://" << so->host << ":" << server.port() << std::endl;
            spdlog::info("listening on http://{}:{} (loading {})", so->host, server.port(), t.model_dir);
            StopToken stop;
            const StopSignals signals(stop, "\nmvtag serve: stopping: answering the requests in flight (signal again to quit at once)\n",
                                      "\nmvtag serve: still answering the requests in flight\n");
            server.run(t, stop);
            return 0;
          }};
}
#else
Command add_serve_command(CLI::App& root) {
  auto* sub = root.add_subcommand("serve", "Tag videos over HTTP (not in this build: see below)");
  sub->allow_extras();
  return {sub, []() -> int {
            throw_error(ErrorKind::Usage,
                        "this mvtag was built without the HTTP server: install cpp-httplib (Debian: "
                        "libcpp-httplib-dev) and build again (cmake reports why it was left out)");
          }};
}
#endif

}  // namespace mvtag::cli
