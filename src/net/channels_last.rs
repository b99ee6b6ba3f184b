//! The channels-last memory layout: [N, C, H, W] tensors stored as [N, H, W, C], the layout
//! of the channels-last response passes (`proxy::pass::channels_last`), and the tensors
//! zsnas's own kernels take ([`bn_channels_last`](super::bn_channels_last),
//! [`avg_pool_channels_last`](super::avg_pool_channels_last)).

use tch::{Device, Kind, Tensor};

/// True when `x` [N, C, H, W] is dense channels-last (contiguous as [N, H, W, C]) and not
/// also channels-first (which it is when C = 1 or H·W = 1).
pub fn is_channels_last(x: &Tensor) -> bool {
    x.dim() == 4 && !x.is_contiguous() && x.permute([0, 2, 3, 1]).is_contiguous()
}

/// `x` [N, C, H, W] with the same values laid out channels-last (a copy; differentiable).
pub fn to_channels_last(x: &Tensor) -> Tensor {
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// True when `x` [N, C, H, W] is a float32 CPU tensor dense as [N, H, W, C]: what zsnas's
/// own channels-last kernels take. Unlike [`is_channels_last`] this includes the shapes
/// that are channels-first too (C = 1, or H·W = 1 as in NAS-Bench-201's last stage on
/// 4×4 inputs): the kernels see the same [N·H·W, C] rows either way, and libtorch's
/// BatchNorm would treat such a tensor as channels-last and sum its statistics per thread
/// in float32, so the scores would depend on `--threads`.
pub fn is_cpu_f32_channels_last(x: &Tensor) -> bool {
    x.kind() == Kind::Float && x.device() == Device::Cpu && x.dim() == 4 && x.permute([0, 2, 3, 1]).is_contiguous()
}

#[cfg(test)]
mod tests {
    use super::{is_channels_last, is_cpu_f32_channels_last, to_channels_last};
    use tch::{Device, Kind, Tensor};

    #[test]
    fn only_dense_channels_last_float_cpu_batches_qualify() {
        let x = Tensor::randn([2, 3, 4, 4], (Kind::Float, Device::Cpu));
        assert!(!is_cpu_f32_channels_last(&x));
        assert!(is_cpu_f32_channels_last(&to_channels_last(&x)));
        assert!(!is_cpu_f32_channels_last(&to_channels_last(&x.to_kind(Kind::Double))));
        // One pixel per image, or one channel: channels-last is also channels-first, and
        // the kernels take it.
        let one_pixel = Tensor::randn([2, 3, 1, 1], (Kind::Float, Device::Cpu));
        assert!(!is_channels_last(&one_pixel));
        assert!(is_cpu_f32_channels_last(&one_pixel));
        assert!(is_cpu_f32_channels_last(&Tensor::randn([2, 1, 4, 4], (Kind::Float, Device::Cpu))));
        // A channels-first batch with more than one pixel and channel is not.
        assert!(!is_cpu_f32_channels_last(&Tensor::randn([2, 3, 1, 4], (Kind::Float, Device::Cpu))));
        assert!(!is_cpu_f32_channels_last(&Tensor::randn([2, 3, 4], (Kind::Float, Device::Cpu))));
    }
}
