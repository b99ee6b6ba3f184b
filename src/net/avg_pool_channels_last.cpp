// 3×3 average pooling, stride 1, zero padding 1, padding not counted
// (nn.AvgPool2d(3, 1, 1, count_include_pad=False)) for channels-last float32 CPU tensors,
// as a libtorch autograd function whose values and gradients are bit-identical to
// libtorch's own kernels (see avg_pool_channels_last.rs for the contract).
//
// libtorch's channels-last kernel walks the output pixel by pixel (per pixel: the window
// bounds, its divisor, nine vector adds over the channels); with 16 channels that
// bookkeeping dominates. Here a whole output row is summed at once: for each input row
// of its window, one pass over the row's W·C values adds the left, centre and right
// neighbours. Each output value still starts from 0 and adds its window's values in
// (row, column) order, then is divided by the number of values in the window, as
// libtorch does; the backward divides each output gradient by its window's count once
// and sums, for each input pixel, the outputs whose window holds it in (row, column)
// order, which is the order in which libtorch's backward accumulates them.
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include <string>
#include <vector>

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The window of output row (or column) o in an extent of n, inclusive: [lo, hi].
inline int64_t window_lo(int64_t o) { return o > 0 ? o - 1 : 0; }
inline int64_t window_hi(int64_t o, int64_t n) { return o + 1 < n ? o + 1 : n - 1; }

// One output row oh of the window sums of an image img [H, W, C] into out [W, C]:
// out[w, c] = Σ_{ih ∈ window(oh)} Σ_{iw ∈ window(w)} img[ih, iw, c], from 0, in (ih, iw) order.
__attribute__((target_clones("avx512f", "avx2", "default"))) void window_sums(
    const float* __restrict__ img, float* __restrict__ out, int64_t oh, int64_t H, int64_t W, int64_t C) {
  const int64_t WC = W * C;
  for (int64_t j = 0; j < WC; ++j) out[j] = 0.0f;
  for (int64_t ih = window_lo(oh); ih <= window_hi(oh, H); ++ih) {
    const float* in = img + ih * WC;
    if (W == 1) {
      for (int64_t c = 0; c < C; ++c) out[c] = out[c] + in[c];
      continue;
    }
    // Column 0: columns 0 and 1; interior columns w: w − 1, w, w + 1; column W − 1: W − 2, W − 1.
    for (int64_t c = 0; c < C; ++c) out[c] = (out[c] + in[c]) + in[C + c];
    for (int64_t j = C; j < WC - C; ++j) out[j] = ((out[j] + in[j - C]) + in[j]) + in[j + C];
    for (int64_t j = WC - C; j < WC; ++j) out[j] = (out[j] + in[j - C]) + in[j];
  }
}

// The number of values in the window of output (oh, ow), as a float.
inline float window_count(int64_t oh, int64_t ow, int64_t H, int64_t W) {
  return static_cast<float>((window_hi(oh, H) - window_lo(oh) + 1) * (window_hi(ow, W) - window_lo(ow) + 1));
}

// out[w, c] = in[w, c] / window_count(oh, w) for one row [W, C] (in and out may be the same).
__attribute__((target_clones("avx512f", "avx2", "default"))) void divide_row(
    const float* in, float* out, int64_t oh, int64_t H, int64_t W, int64_t C) {
  for (int64_t w = 0; w < W; ++w) {
    const float f = window_count(oh, w, H, W);
    for (int64_t c = 0; c < C; ++c) out[w * C + c] = in[w * C + c] / f;
  }
}

struct AvgPool3x3ChannelsLast : public torch::autograd::Function<AvgPool3x3ChannelsLast> {
  static at::Tensor forward(AutogradContext*, at::Tensor x) {
    at::NoGradGuard no_grad;
    TORCH_CHECK(x.dim() == 4 && x.scalar_type() == at::kFloat && x.device().is_cpu() &&
                    x.is_contiguous(at::MemoryFormat::ChannelsLast),
                "avg_pool_channels_last: expected a channels-last float32 CPU [N, C, H, W] tensor");
    TORCH_CHECK(!torch::jit::tracer::isTracing(),
                "avg_pool_channels_last: a TorchScript trace cannot record this function");
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    at::Tensor y = at::empty({N, C, H, W}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
    if (y.numel() == 0) return y;
    const float* xp = x.const_data_ptr<float>();
    float* yp = y.data_ptr<float>();
    at::parallel_for(0, N * H, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / H, oh = r % H;
        float* out = yp + r * W * C;
        window_sums(xp + n * H * W * C, out, oh, H, W, C);
        divide_row(out, out, oh, H, W, C);
      }
    });
    return y;
  }

  static variable_list backward(AutogradContext*, variable_list grads) {
    at::NoGradGuard no_grad;
    at::Tensor g = grads[0].contiguous(at::MemoryFormat::ChannelsLast);
    const int64_t N = g.size(0), C = g.size(1), H = g.size(2), W = g.size(3);
    at::Tensor gin = at::empty({N, C, H, W}, g.options().memory_format(at::MemoryFormat::ChannelsLast));
    if (gin.numel() == 0) return {gin};
    const float* gp = g.const_data_ptr<float>();
    float* ip = gin.data_ptr<float>();
    at::parallel_for(0, N, 1, [&](int64_t n0, int64_t n1) {
      std::vector<float> scaled(static_cast<size_t>(H * W * C));
      for (int64_t n = n0; n < n1; ++n) {
        const float* gn = gp + n * H * W * C;
        for (int64_t oh = 0; oh < H; ++oh) divide_row(gn + oh * W * C, scaled.data() + oh * W * C, oh, H, W, C);
        for (int64_t ih = 0; ih < H; ++ih) window_sums(scaled.data(), ip + (n * H + ih) * W * C, ih, H, W, C);
      }
    });
    return {gin};
  }
};

thread_local std::string last_error;

}  // namespace

extern "C" {

// Returns a new tensor (owned by the caller, as libtch's tensors are), or null on error
// (message from zsnas_avg_pool_channels_last_error).
at::Tensor* zsnas_avg_pool_channels_last(const at::Tensor* x) {
  try {
    return new at::Tensor(AvgPool3x3ChannelsLast::apply(*x));
  } catch (const std::exception& e) {
    last_error = e.what();
    return nullptr;
  }
}

const char* zsnas_avg_pool_channels_last_error() { return last_error.c_str(); }
}
