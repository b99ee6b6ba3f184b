// Training-mode BatchNorm2d for channels-last float32 CPU tensors, with per-channel
// reductions in float64 summed in a fixed order (see bn_channels_last.rs for the contract).
//
// libtorch's own channels-last kernels reduce per thread in float32, so their results depend
// on the thread count; these kernels split the rows into fixed blocks of ROWS_PER_BLOCK,
// reduce each block in float64 and add the blocks in order, so every value is the same
// whatever the thread count. The element-wise parts follow libtorch's channels-first
// kernels: y = x·α + β with α = invstd·γ, β = β₀ − mean·α (float32), and
// dx = (dy − Σdy/M − (x − mean)·(Σdy(x − mean))·invstd²/M)·invstd·γ.
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t ROWS_PER_BLOCK = 1024;

// Per-channel sums over the rows of x [M, C] (row-major): s[c] = Σ (x − shift[c]) and
// s[C + c] = Σ (x − shift[c])², over rows r0..r1 in order, in float64.
__attribute__((target_clones("avx512f", "avx2", "default"))) void block_moments(
    const float* __restrict__ x, int64_t r0, int64_t r1, int64_t C, const double* __restrict__ shift,
    double* __restrict__ s) {
  for (int64_t c = 0; c < 2 * C; ++c) s[c] = 0.0;
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = x + r * C;
    for (int64_t c = 0; c < C; ++c) {
      double d = static_cast<double>(row[c]) - shift[c];
      s[c] += d;
      s[C + c] += d * d;
    }
  }
}

// Per-channel Σ dy and Σ dy·(x − mean) over rows r0..r1 in order, in float64.
__attribute__((target_clones("avx512f", "avx2", "default"))) void block_grad_sums(
    const float* __restrict__ x, const float* __restrict__ dy, int64_t r0, int64_t r1, int64_t C,
    const double* __restrict__ mean, double* __restrict__ s) {
  for (int64_t c = 0; c < 2 * C; ++c) s[c] = 0.0;
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * C;
    const float* gr = dy + r * C;
    for (int64_t c = 0; c < C; ++c) {
      double g = static_cast<double>(gr[c]);
      s[c] += g;
      s[C + c] += g * (static_cast<double>(xr[c]) - mean[c]);
    }
  }
}

// out = x·a + b per channel over rows r0..r1.
__attribute__((target_clones("avx512f", "avx2", "default"))) void affine_rows(
    const float* x, float* out, int64_t r0, int64_t r1, int64_t C, const float* a, const float* b) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * C;
    float* o = out + r * C;
    for (int64_t c = 0; c < C; ++c) o[c] = xr[c] * a[c] + b[c];
  }
}

// dx = (dy − gm − (x − mean)·k)·invstd·γ per channel (float32, as libtorch's kernels).
__attribute__((target_clones("avx512f", "avx2", "default"))) void grad_rows(
    const float* x, const float* dy, float* dx, int64_t r0, int64_t r1, int64_t C, const float* mean,
    const float* k, const float* gm, const float* scale) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * C;
    const float* gr = dy + r * C;
    float* o = dx + r * C;
    for (int64_t c = 0; c < C; ++c) o[c] = (gr[c] - gm[c] - (xr[c] - mean[c]) * k[c]) * scale[c];
  }
}

// Sums `kernel` over fixed blocks of rows (in parallel), then adds the blocks in order.
template <typename F>
std::vector<double> ordered_sums(int64_t M, int64_t C, F kernel) {
  const int64_t blocks = (M + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK;
  std::vector<double> part(static_cast<size_t>(blocks * 2 * C));
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      kernel(b * ROWS_PER_BLOCK, std::min(M, (b + 1) * ROWS_PER_BLOCK), part.data() + b * 2 * C);
    }
  });
  std::vector<double> total(static_cast<size_t>(2 * C), 0.0);
  for (int64_t b = 0; b < blocks; ++b) {
    for (int64_t c = 0; c < 2 * C; ++c) total[c] += part[b * 2 * C + c];
  }
  return total;
}

template <typename F>
void rows_parallel(int64_t M, F kernel) {
  at::parallel_for(0, M, ROWS_PER_BLOCK, [&](int64_t r0, int64_t r1) { kernel(r0, r1); });
}

// The [N, C, H, W] channels-last tensor `t` as a contiguous [M, C] view.
at::Tensor rows_of(const at::Tensor& t) { return t.permute({0, 2, 3, 1}).reshape({-1, t.size(1)}); }

struct BatchNormChannelsLast : public torch::autograd::Function<BatchNormChannelsLast> {
  static at::Tensor forward(AutogradContext* ctx, at::Tensor x, at::Tensor weight, at::Tensor bias,
                            at::Tensor running_mean, at::Tensor running_var, double momentum, double eps) {
    at::NoGradGuard no_grad;
    const int64_t C = x.size(1);
    at::Tensor xr = rows_of(x);
    const int64_t M = xr.size(0);
    const float* xp = xr.const_data_ptr<float>();
    // Shift: the first row (any value within a few standard deviations of the mean keeps
    // the shifted sums as accurate as centred ones).
    std::vector<double> shift(C);
    for (int64_t c = 0; c < C; ++c) shift[c] = M > 0 ? xp[c] : 0.0;
    std::vector<double> s = ordered_sums(M, C, [&](int64_t r0, int64_t r1, double* out) {
      block_moments(xp, r0, r1, C, shift.data(), out);
    });
    at::Tensor mean = at::empty({C}, x.options());
    at::Tensor invstd = at::empty({C}, x.options());
    std::vector<float> a(C), b(C);
    const float* w = weight.const_data_ptr<float>();
    const float* bb = bias.const_data_ptr<float>();
    float* rm = running_mean.data_ptr<float>();
    float* rv = running_var.data_ptr<float>();
    for (int64_t c = 0; c < C; ++c) {
      double dm = s[c] / M;
      double var = std::max(s[C + c] / M - dm * dm, 0.0);
      float m = static_cast<float>(shift[c] + dm);
      float is = static_cast<float>(1.0 / std::sqrt(var + eps));
      mean.data_ptr<float>()[c] = m;
      invstd.data_ptr<float>()[c] = is;
      a[c] = is * w[c];
      b[c] = bb[c] - m * a[c];
      rm[c] = static_cast<float>(momentum * m + (1.0 - momentum) * rm[c]);
      double unbiased = M > 1 ? var * M / (M - 1) : var;
      rv[c] = static_cast<float>(momentum * unbiased + (1.0 - momentum) * rv[c]);
    }
    at::Tensor y = at::empty_like(x);  // channels-last, like x
    at::Tensor yr = rows_of(y);
    float* yp = yr.data_ptr<float>();
    rows_parallel(M, [&](int64_t r0, int64_t r1) { affine_rows(xp, yp, r0, r1, C, a.data(), b.data()); });
    ctx->save_for_backward({x, weight});
    ctx->saved_data["mean"] = mean;
    ctx->saved_data["invstd"] = invstd;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    at::NoGradGuard no_grad;
    auto saved = ctx->get_saved_variables();
    at::Tensor x = saved[0], weight = saved[1];
    at::Tensor mean = ctx->saved_data["mean"].toTensor();
    at::Tensor invstd = ctx->saved_data["invstd"].toTensor();
    const int64_t C = x.size(1);
    at::Tensor dy = grads[0].contiguous(at::MemoryFormat::ChannelsLast);
    at::Tensor xr = rows_of(x), gr = rows_of(dy);
    const int64_t M = xr.size(0);
    const float* xp = xr.const_data_ptr<float>();
    const float* gp = gr.const_data_ptr<float>();
    const float* mp = mean.const_data_ptr<float>();
    const float* ip = invstd.const_data_ptr<float>();
    const float* w = weight.const_data_ptr<float>();
    std::vector<double> mean_d(mp, mp + C);
    std::vector<double> s = ordered_sums(M, C, [&](int64_t r0, int64_t r1, double* out) {
      block_grad_sums(xp, gp, r0, r1, C, mean_d.data(), out);
    });
    std::vector<float> k(C), gm(C), scale(C);
    at::Tensor gw = at::empty({C}, weight.options());
    at::Tensor gb = at::empty({C}, weight.options());
    for (int64_t c = 0; c < C; ++c) {
      float dotp = static_cast<float>(s[C + c]);
      float sum = static_cast<float>(s[c]);
      k[c] = dotp * ip[c] * ip[c] / M;
      gm[c] = sum / M;
      scale[c] = ip[c] * w[c];
      gw.data_ptr<float>()[c] = dotp * ip[c];
      gb.data_ptr<float>()[c] = sum;
    }
    at::Tensor dx = at::empty_like(x);
    at::Tensor dr = rows_of(dx);
    float* dp = dr.data_ptr<float>();
    rows_parallel(M, [&](int64_t r0, int64_t r1) {
      grad_rows(xp, gp, dp, r0, r1, C, mp, k.data(), gm.data(), scale.data());
    });
    return {dx, gw, gb, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

thread_local std::string last_error;

}  // namespace

extern "C" {

// Returns a new tensor (owned by the caller, as libtch's tensors are), or null on error
// (message from zsnas_bn_channels_last_error).
at::Tensor* zsnas_bn_channels_last(const at::Tensor* x, const at::Tensor* weight, const at::Tensor* bias,
                                   const at::Tensor* running_mean, const at::Tensor* running_var,
                                   double momentum, double eps) {
  try {
    at::Tensor y =
        BatchNormChannelsLast::apply(*x, *weight, *bias, *running_mean, *running_var, momentum, eps);
    return new at::Tensor(y);
  } catch (const std::exception& e) {
    last_error = e.what();
    return nullptr;
  }
}

const char* zsnas_bn_channels_last_error() { return last_error.c_str(); }
}
