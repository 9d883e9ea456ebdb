// The fused peephole LSTM recurrence (include/mvtag/model/peephole_lstm.h): per step one GEMM
// (h_{t−1} · W^T) and one hand-written elementwise pass over [B, 4H], the whole direction one
// autograd node with a hand-written backpropagation through time.
//
// Buffers are indexed by processing step n (t = n, or T−1−n in reverse):
//   hs, cs [T+1, B, H]: slot 0 the zero initial state, slot n+1 the state after step n
//   acts   [T, B, 4H]:  the activated gates [c̃, i, f, o] of step n
// A padded step (t ≥ len[b]) sets h = c = 0 for its row and has no gradient. In reverse that is
// the reset before a sequence's last real step; forwards it only follows the sequence's end.
// Without grad, hs and cs are two ping-pong slots and acts one [B, 4H] scratch.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "mvtag/model/peephole_lstm.h"

// The float elementwise passes are compiled for AVX-512 and AVX2 as well as the baseline and
// chosen at load time (GCC function multi-versioning, x86-64 ELF only). Elsewhere: baseline.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MVTAG_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define MVTAG_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define MVTAG_SIMD_CLONES
#define MVTAG_ALWAYS_INLINE inline
#endif
#if defined(__GNUC__)
#define MVTAG_RESTRICT __restrict__
#else
#define MVTAG_RESTRICT
#endif

namespace mvtag {

namespace {

// e^x in float, branch-free so loops over it vectorise: x = n·ln2 + r with |r| ≤ ln2/2 (n by the
// 1.5·2^23 rounding trick, ln2 split in two for an exact n·ln2), e^r by its Taylor polynomial to
// r^7 (truncation < 1e-8 relative), 2^n by building the float's exponent. ~1e-7 relative.
MVTAG_ALWAYS_INLINE float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : x;  // keeps 2^n a normal float
  x = x > 88.0f ? 88.0f : x;
  const float shift = 12582912.0f;
  const float z = x * 1.44269504088896341f + shift;
  const float n = z - shift;
  std::int32_t z_bits;
  std::memcpy(&z_bits, &z, sizeof z_bits);
  const std::int32_t n_int = z_bits - 0x4B400000;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const std::int32_t scale_bits = (n_int + 127) << 23;
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return scale * p;
}

MVTAG_ALWAYS_INLINE float sigmoid_of(float x) { return 1.0f / (1.0f + exp_approx(-x)); }
MVTAG_ALWAYS_INLINE float tanh_of(float x) { return 1.0f - 2.0f / (exp_approx(2.0f * x) + 1.0f); }
MVTAG_ALWAYS_INLINE double sigmoid_of(double x) { return 1.0 / (1.0 + std::exp(-x)); }
MVTAG_ALWAYS_INLINE double tanh_of(double x) { return std::tanh(x); }

// One row of the forward pass. a [4H]: G_t + W·h_{t−1} on entry, the activations [c̃, i, f, o]
// on exit; c_prev [H]; peep [3H]; c_new, h_new [H]; out [H] (the output row, or null).
template <typename T>
MVTAG_ALWAYS_INLINE void forward_row_body(std::int64_t h, T* MVTAG_RESTRICT a, const T* MVTAG_RESTRICT c_prev,
                                          const T* MVTAG_RESTRICT peep, T* MVTAG_RESTRICT c_new,
                                          T* MVTAG_RESTRICT h_new) {
  for (std::int64_t j = 0; j < h; ++j) {
    const T cp = c_prev[j];
    const T cand = tanh_of(a[j]);
    const T in = sigmoid_of(a[h + j] + peep[j] * cp);
    const T forget = sigmoid_of(a[2 * h + j] + peep[h + j] * cp);
    const T c = cand * in + cp * forget;
    const T out = sigmoid_of(a[3 * h + j] + peep[2 * h + j] * c);
    a[j] = cand;
    a[h + j] = in;
    a[2 * h + j] = forget;
    a[3 * h + j] = out;
    c_new[j] = c;
    h_new[j] = out * tanh_of(c);
  }
}

// One row of backpropagation through one step. dh [H]: ∂L/∂h_t (output gradient plus the
// recurrent W^T·dA_{t+1}); dc [H]: ∂L/∂c_t from step t+1 on entry, ∂L/∂c_{t−1} on exit;
// act [4H] the saved activations; c, c_prev [H]; da [4H]: ∂L/∂a_t out.
template <typename T>
MVTAG_ALWAYS_INLINE void backward_row_body(std::int64_t h, const T* MVTAG_RESTRICT dh, T* MVTAG_RESTRICT dc,
                                           const T* MVTAG_RESTRICT act, const T* MVTAG_RESTRICT c_cur,
                                           const T* MVTAG_RESTRICT c_prev, const T* MVTAG_RESTRICT peep,
                                           T* MVTAG_RESTRICT da) {
  for (std::int64_t j = 0; j < h; ++j) {
    const T cand = act[j], in = act[h + j], forget = act[2 * h + j], out = act[3 * h + j];
    const T c = c_cur[j], cp = c_prev[j];
    const T tc = tanh_of(c);
    const T da_o = dh[j] * tc * out * (T(1) - out);
    // c_t feeds h_t through tanh and o (its peephole) and c_{t+1} (already in dc).
    const T dct = dc[j] + dh[j] * out * (T(1) - tc * tc) + da_o * peep[2 * h + j];
    const T da_c = dct * in * (T(1) - cand * cand);
    const T da_i = dct * cand * in * (T(1) - in);
    const T da_f = dct * cp * forget * (T(1) - forget);
    dc[j] = dct * forget + da_i * peep[j] + da_f * peep[h + j];
    da[j] = da_c;
    da[h + j] = da_i;
    da[2 * h + j] = da_f;
    da[3 * h + j] = da_o;
  }
}

MVTAG_SIMD_CLONES void forward_row(std::int64_t h, float* a, const float* c_prev, const float* peep, float* c_new,
                                   float* h_new) {
  forward_row_body<float>(h, a, c_prev, peep, c_new, h_new);
}
void forward_row(std::int64_t h, double* a, const double* c_prev, const double* peep, double* c_new,
                 double* h_new) {
  forward_row_body<double>(h, a, c_prev, peep, c_new, h_new);
}
MVTAG_SIMD_CLONES void backward_row(std::int64_t h, const float* dh, float* dc, const float* act, const float* c_cur,
                                    const float* c_prev, const float* peep, float* da) {
  backward_row_body<float>(h, dh, dc, act, c_cur, c_prev, peep, da);
}
void backward_row(std::int64_t h, const double* dh, double* dc, const double* act, const double* c_cur,
                  const double* c_prev, const double* peep, double* da) {
  backward_row_body<double>(h, dh, dc, act, c_cur, c_prev, peep, da);
}

// Rows per parallel chunk: at least ~16k gate values, so small batches stay on one thread.
std::int64_t row_grain(std::int64_t h) { return std::max<std::int64_t>(1, 16384 / (4 * h)); }

std::vector<std::int64_t> lengths_of(const torch::Tensor& lengths, std::int64_t batch) {
  const auto l = lengths.to(torch::kCPU, torch::kInt64).contiguous();
  TORCH_CHECK(l.dim() == 1 && l.size(0) == batch, "peephole LSTM: lengths must be [B]");
  return {l.data_ptr<std::int64_t>(), l.data_ptr<std::int64_t>() + batch};
}

struct ForwardResult {
  torch::Tensor output;          // [B, T, H]
  torch::Tensor acts, hs, cs;    // saved for backward (undefined without `save`)
};

ForwardResult fused_forward(const torch::Tensor& gates_in, const torch::Tensor& weight_hh,
                            const torch::Tensor& peephole_in, const std::vector<std::int64_t>& len, bool reverse,
                            bool save) {
  const auto gates = gates_in.contiguous();
  const auto peephole = peephole_in.contiguous();
  const auto batch = gates.size(0), steps = gates.size(1), h4 = gates.size(2), h = h4 / 4;
  const auto w_t = weight_hh.t();  // [H, 4H]
  const auto opts = gates.options();
  ForwardResult r;
  r.output = torch::zeros({batch, steps, h}, opts);
  const auto slots = save ? steps + 1 : 2;
  auto hs = torch::empty({slots, batch, h}, opts);
  auto cs = torch::empty({slots, batch, h}, opts);
  hs[0].zero_();
  cs[0].zero_();
  auto acts = save ? torch::empty({steps, batch, h4}, opts) : torch::empty({1, batch, h4}, opts);
  const auto grain = row_grain(h);

  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "peephole_lstm_fused_forward", [&] {
    const scalar_t* peep = peephole.data_ptr<scalar_t>();
    scalar_t* out = r.output.data_ptr<scalar_t>();
    for (std::int64_t n = 0; n < steps; ++n) {
      const auto t = reverse ? steps - 1 - n : n;
      const auto in_slot = save ? n : n % 2, out_slot = save ? n + 1 : (n + 1) % 2;
      auto a = acts[save ? n : 0];
      at::addmm_out(a, gates.select(1, t), hs[in_slot], w_t);
      scalar_t* a_ptr = a.data_ptr<scalar_t>();
      const scalar_t* c_prev = cs[in_slot].data_ptr<scalar_t>();
      scalar_t* c_new = cs[out_slot].data_ptr<scalar_t>();
      scalar_t* h_new = hs[out_slot].data_ptr<scalar_t>();
      at::parallel_for(0, batch, grain, [&](std::int64_t begin, std::int64_t end) {
        for (auto b = begin; b < end; ++b) {
          if (t >= len[static_cast<std::size_t>(b)]) {
            std::fill(c_new + b * h, c_new + (b + 1) * h, scalar_t(0));
            std::fill(h_new + b * h, h_new + (b + 1) * h, scalar_t(0));
            continue;
          }
          forward_row(h, a_ptr + b * h4, c_prev + b * h, peep, c_new + b * h, h_new + b * h);
          std::copy(h_new + b * h, h_new + (b + 1) * h, out + (b * steps + t) * h);
        }
      });
    }
  });
  if (save) {
    r.acts = acts;
    r.hs = hs;
    r.cs = cs;
  }
  return r;
}

struct BackwardResult {
  torch::Tensor d_gates, d_weight_hh, d_peephole;
};

BackwardResult fused_backward(const torch::Tensor& grad_out_in, const torch::Tensor& weight_hh,
                              const torch::Tensor& peephole_in, const std::vector<std::int64_t>& len, bool reverse,
                              const torch::Tensor& acts, const torch::Tensor& hs, const torch::Tensor& cs) {
  const auto grad_out = grad_out_in.contiguous();
  const auto peephole = peephole_in.contiguous();
  const auto weight = weight_hh.contiguous();  // [4H, H]
  const auto steps = acts.size(0), batch = acts.size(1), h4 = acts.size(2), h = h4 / 4;
  const auto opts = acts.options();
  auto d_a = torch::empty({steps, batch, h4}, opts);  // ∂L/∂a per step, in processing order
  auto d_gates = torch::empty({batch, steps, h4}, opts);
  auto dh = torch::empty({batch, h}, opts);           // ∂L/∂h of the current step
  auto dh_rec = torch::zeros({batch, h}, opts);       // W^T·dA of the step after
  auto dc = torch::zeros({batch, h}, opts);
  const auto grain = row_grain(h);

  AT_DISPATCH_FLOATING_TYPES(acts.scalar_type(), "peephole_lstm_fused_backward", [&] {
    const scalar_t* peep = peephole.data_ptr<scalar_t>();
    const scalar_t* go = grad_out.data_ptr<scalar_t>();
    scalar_t* dg = d_gates.data_ptr<scalar_t>();
    scalar_t* dh_ptr = dh.data_ptr<scalar_t>();
    scalar_t* dc_ptr = dc.data_ptr<scalar_t>();
    const scalar_t* rec = dh_rec.data_ptr<scalar_t>();
    for (std::int64_t n = steps - 1; n >= 0; --n) {
      const auto t = reverse ? steps - 1 - n : n;
      if (n + 1 < steps) at::mm_out(dh_rec, d_a[n + 1], weight);
      const scalar_t* act = acts[n].data_ptr<scalar_t>();
      const scalar_t* c_cur = cs[n + 1].data_ptr<scalar_t>();
      const scalar_t* c_prev = cs[n].data_ptr<scalar_t>();
      scalar_t* da = d_a[n].data_ptr<scalar_t>();
      at::parallel_for(0, batch, grain, [&](std::int64_t begin, std::int64_t end) {
        for (auto b = begin; b < end; ++b) {
          scalar_t* da_row = da + b * h4;
          scalar_t* dg_row = dg + (b * steps + t) * h4;
          if (t >= len[static_cast<std::size_t>(b)]) {
            // The state here is the constant 0: nothing flows through it.
            std::fill(da_row, da_row + h4, scalar_t(0));
            std::fill(dg_row, dg_row + h4, scalar_t(0));
            std::fill(dc_ptr + b * h, dc_ptr + (b + 1) * h, scalar_t(0));
            continue;
          }
          const scalar_t* go_row = go + (b * steps + t) * h;
          const scalar_t* rec_row = rec + b * h;
          scalar_t* dh_row = dh_ptr + b * h;
          for (std::int64_t j = 0; j < h; ++j) dh_row[j] = go_row[j] + rec_row[j];
          backward_row(h, dh_row, dc_ptr + b * h, act + b * h4, c_cur + b * h, c_prev + b * h, peep, da_row);
          std::copy(da_row, da_row + h4, dg_row);
        }
      });
    }
  });

  BackwardResult r;
  r.d_gates = d_gates;
  // ∂L/∂W = Σ_t dA_tᵀ · h_{t−1}: one GEMM over all steps.
  const auto h_prev = hs.narrow(0, 0, steps).reshape({steps * batch, h});
  r.d_weight_hh = torch::mm(d_a.view({steps * batch, h4}).t(), h_prev);
  // Peepholes: w_ic and w_fc saw c_{t−1}, w_oc saw c_t.
  const auto c_prev_all = cs.narrow(0, 0, steps), c_all = cs.narrow(0, 1, steps);
  const std::vector<std::int64_t> step_and_batch = {0, 1};
  r.d_peephole = torch::cat({(d_a.narrow(2, h, h) * c_prev_all).sum(step_and_batch),
                             (d_a.narrow(2, 2 * h, h) * c_prev_all).sum(step_and_batch),
                             (d_a.narrow(2, 3 * h, h) * c_all).sum(step_and_batch)});
  return r;
}

class FusedPeepholeLstm : public torch::autograd::Function<FusedPeepholeLstm> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& gates,
                               const torch::Tensor& weight_hh, const torch::Tensor& peephole,
                               const torch::Tensor& lengths, bool reverse) {
    const auto len = lengths_of(lengths, gates.size(0));
    auto r = fused_forward(gates, weight_hh, peephole, len, reverse, /*save=*/true);
    ctx->save_for_backward({weight_hh, peephole, lengths, r.acts, r.hs, r.cs});
    ctx->saved_data["reverse"] = reverse;
    return r.output;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto& grad = grad_outputs[0];
    if (!grad.defined()) return {torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    const auto& acts = saved[3];
    const auto len = lengths_of(saved[2], acts.size(1));
    const auto r = fused_backward(grad, saved[0], saved[1], len, ctx->saved_data["reverse"].toBool(), acts, saved[4],
                                  saved[5]);
    return {r.d_gates, r.d_weight_hh, r.d_peephole, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool fused_lstm_supported(const torch::Tensor& gates, const torch::Tensor& weight_hh, const torch::Tensor& peephole) {
  const auto type = gates.scalar_type();
  return gates.device().is_cpu() && weight_hh.device().is_cpu() && peephole.device().is_cpu() &&
         (type == torch::kFloat32 || type == torch::kFloat64) && weight_hh.scalar_type() == type &&
         peephole.scalar_type() == type && gates.layout() == torch::kStrided;
}

torch::Tensor peephole_lstm_fused(const torch::Tensor& gates, const torch::Tensor& weight_hh,
                                  const torch::Tensor& peephole, const torch::Tensor& lengths, bool reverse) {
  TORCH_CHECK(fused_lstm_supported(gates, weight_hh, peephole),
              "peephole_lstm_fused: CPU float32/float64 tensors of one dtype only");
  TORCH_CHECK(gates.dim() == 3 && gates.size(2) % 4 == 0 && weight_hh.dim() == 2 &&
                  weight_hh.size(0) == gates.size(2) && weight_hh.size(1) * 4 == gates.size(2) &&
                  peephole.numel() == 3 * weight_hh.size(1),
              "peephole_lstm_fused: gates [B, T, 4H], weight_hh [4H, H], peephole [3H]");
  const bool needs_grad = torch::GradMode::is_enabled() &&
                          (gates.requires_grad() || weight_hh.requires_grad() || peephole.requires_grad());
  if (needs_grad) return FusedPeepholeLstm::apply(gates, weight_hh, peephole, lengths, reverse);
  torch::NoGradGuard no_grad;
  return fused_forward(gates, weight_hh, peephole, lengths_of(lengths, gates.size(0)), reverse, /*save=*/false).output;
}

}  // namespace mvtag
